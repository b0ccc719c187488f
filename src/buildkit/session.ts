// The build session Hangar serves to BuildKit for one build: health checks
// (the 20.10 engine drops a session on the first failed check), secrets
// from the build's SecretStore, the local directories over FileSync, and
// registry auth that answers with no credentials. Attached to the engine by
// the `/session` upgrade, or to a buildkitd through Control/Session.
//
// Must never: log or return in an error a secret value, or serve a
// directory that was not given for this build.
import { randomBytes } from 'node:crypto';
import { Duplex } from 'node:stream';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import {
  HEALTH_SERVING,
  decodeBytesMessage,
  decodeCredentialsRequest,
  decodeFsPacket,
  decodeGetSecretRequest,
  decodeHealthCheckRequest,
  encodeBytesMessage,
  encodeCredentialsResponse,
  encodeFsPacket,
  encodeGetSecretResponse,
  encodeHealthCheckResponse,
} from './messages.js';
import { GrpcChannel, GrpcError, GrpcServer, GrpcStatus, metadataList } from './grpc.js';
import { ListingPace, sendDirectory, type SendStats } from './filesync/send.js';
import { receiveDirectory } from './filesync/receive.js';
import { upgradeEngineSocket, type BuilderAddress } from './transport.js';
import type { LocalDir } from './api.js';
import type { SecretStore } from './secrets.js';

export interface BuildSessionOptions {
  id?: string;
  name?: string;
  sharedKey?: string;
  secrets?: SecretStore;
  localDirs?: Record<string, string | LocalDir>;
  /** For the `tar`, `oci` and `docker` exporters: where the builder's tarball is written. */
  exportFile?: string;
  /** For the `local` exporter: the directory the result's files are written into. */
  exportDir?: string;
  /** Called with a line for each directory synced (timing traces). */
  onTrace?: (event: string) => void;
  /** Keep each listing close behind the builder's requests (see STAT_LEAD): for a builder on this machine. */
  paceSyncs?: boolean;
}

export class BuildSession {
  readonly id: string;
  readonly name: string;
  readonly sharedKey: string;
  readonly #server = new GrpcServer();
  readonly #secrets: SecretStore | undefined;
  readonly #dirs: Map<string, LocalDir>;
  readonly #exportFile: string | undefined;
  readonly #exportDir: string | undefined;
  readonly #closers: (() => void)[] = [];
  /** What each FileSync call sent, by directory name. */
  readonly syncs: { name: string; stats: SendStats }[] = [];
  readonly #onTrace: ((event: string) => void) | undefined;
  readonly #paceSyncs: boolean;

  constructor(options: BuildSessionOptions = {}) {
    this.id = options.id ?? randomBytes(16).toString('hex');
    this.name = options.name ?? 'hangar';
    this.sharedKey = options.sharedKey ?? this.id;
    this.#secrets = options.secrets;
    this.#dirs = new Map(Object.entries(options.localDirs ?? {}).map(([k, v]) => [k, typeof v === 'string' ? { dir: v } : v]));
    this.#exportFile = options.exportFile;
    this.#exportDir = options.exportDir;
    this.#onTrace = options.onTrace;
    this.#paceSyncs = options.paceSyncs ?? false;
    this.#register();
  }

  #register(): void {
    const s = this.#server;
    s.unary('/grpc.health.v1.Health/Check', decodeHealthCheckRequest, encodeHealthCheckResponse, () => ({ status: HEALTH_SERVING }));
    s.unary('/moby.filesync.v1.Auth/Credentials', decodeCredentialsRequest, encodeCredentialsResponse, () => ({}));
    if (this.#secrets) {
      const store = this.#secrets;
      s.unary('/moby.buildkit.secrets.v1.Secrets/GetSecret', decodeGetSecretRequest, encodeGetSecretResponse, (req) => {
        const value = store.lookup(req.ID);
        // The id is the user's name for the secret; it is safe to echo.
        if (!value) throw new GrpcError(GrpcStatus.NOT_FOUND, `secret ${req.ID} not found`);
        return { data: value };
      });
    }
    if (this.#exportFile) this.#registerExport(s, this.#exportFile);
    else if (this.#exportDir) this.#registerExportDir(s, this.#exportDir);
    if (this.#dirs.size > 0) {
      s.bidi('/moby.filesync.v1.FileSync/DiffCopy', decodeFsPacket, encodeFsPacket, async (call) => {
        const name = metadataList(call.metadata, 'dir-name')[0];
        const dir = name === undefined ? undefined : this.#dirs.get(name);
        if (!dir) throw new GrpcError(GrpcStatus.NOT_FOUND, `no local directory ${JSON.stringify(name ?? '')} in this build`);
        const list = (key: string): string[] => metadataList(call.metadata, key).flatMap((v) => v.split(', ')).filter((v) => v !== '');
        let excludes = list('exclude-patterns');
        const override = metadataList(call.metadata, 'override-excludes')[0] === 'true';
        if (dir.excludePatterns && dir.excludePatterns.length > 0 && !override) excludes = dir.excludePatterns;
        const stats = await sendDirectory(
          dir.dir,
          { packets: call.requests, sendFramed: (f, written) => call.sendFramed(f, written) },
          { includePatterns: list('include-patterns'), excludePatterns: excludes, followPaths: list('followpaths') },
          call.signal,
          this.#paceSyncs ? new ListingPace() : undefined,
        );
        this.syncs.push({ name: name!, stats });
        this.#onTrace?.(
          `synced ${name}: ${stats.entries} entries listed in ${stats.listedMs} ms (${stats.sentWhileListing} files sent by then), ${stats.filesSent} files (${stats.bytesSent} bytes) sent, done in ${stats.totalMs} ms`,
        );
      });
    }
  }

  #registerExport(s: GrpcServer, file: string): void {
    s.bidi('/moby.filesync.v1.FileSend/DiffCopy', decodeBytesMessage, encodeBytesMessage, async (call) => {
      const out = createWriteStream(file, { mode: 0o644 });
      try {
        for await (const msg of call.requests) {
          if (!out.write(msg.data)) await once(out, 'drain');
        }
      } finally {
        out.end();
        await once(out, 'close');
      }
    });
  }

  #registerExportDir(s: GrpcServer, dir: string): void {
    s.bidi('/moby.filesync.v1.FileSend/DiffCopy', decodeFsPacket, encodeFsPacket, async (call) => {
      const stats = await receiveDirectory(dir, { packets: call.requests, send: (p) => call.send(p) }, call.signal);
      this.#onTrace?.(`exported ${stats.entries} entries, ${stats.files} files (${stats.bytes} bytes) into ${dir}`);
    });
  }

  /** gRPC method paths served, as the engine wants them announced. */
  get methods(): string[] {
    return this.#server.methods;
  }

  get bytesSynced(): number {
    return this.syncs.reduce((n, s) => n + s.stats.bytesSent, 0);
  }

  #headers(): [string, string][] {
    return [
      ['X-Docker-Expose-Session-Uuid', this.id],
      ['X-Docker-Expose-Session-Name', this.name],
      ['X-Docker-Expose-Session-Sharedkey', this.sharedKey],
      ...this.methods.map((m): [string, string] => ['X-Docker-Expose-Session-Grpc-Method', m]),
    ];
  }

  /** Attaches to a Docker Engine: resolves once the engine accepted the session (101). */
  async attachToEngine(addr: BuilderAddress): Promise<void> {
    const socket = await upgradeEngineSocket(addr, '/session', this.#headers());
    this.#closers.push(() => socket.destroy());
    this.serve(socket);
  }

  /** Serves the session on a connection where the builder is the HTTP/2 client. */
  serve(connection: Duplex): void {
    this.#server.serveOn(connection);
  }

  /**
   * Attaches to a buildkitd: the session's HTTP/2 runs inside the bytes of a
   * Control/Session stream, the headers travel as gRPC metadata.
   */
  async attachToBuildkitd(channel: GrpcChannel): Promise<void> {
    const metadata: Record<string, string[]> = {};
    for (const [k, v] of this.#headers()) (metadata[k.toLowerCase()] ??= []).push(v);
    const call = channel.bidi('/moby.buildkit.v1.Control/Session', encodeBytesMessage, decodeBytesMessage, { metadata });
    const tunnel = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, done) {
        call.send({ data: chunk }).then(() => done(), done);
      },
      final(done) {
        call.end();
        done();
      },
    });
    (async () => {
      try {
        for await (const msg of call.responses) tunnel.push(Buffer.from(msg.data));
        tunnel.push(null);
      } catch (err) {
        tunnel.destroy(err as Error);
      }
    })();
    this.#closers.push(() => {
      call.cancel();
      tunnel.destroy();
    });
    this.serve(tunnel);
  }

  close(): void {
    for (const c of this.#closers.splice(0)) c();
    this.#server.close();
  }
}

