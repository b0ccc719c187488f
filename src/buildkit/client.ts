// The BuildKit client: Control (Solve, Status, ListWorkers, DiskUsage,
// Prune) and the gateway (LLBBridge) over one HTTP/2 connection, plus the
// build session, wired into one `build()` call. See ./index.ts for usage.
//
// Must never: let a secret value reach progress, an error or a log (output
// and errors pass the SecretRedactor), or leave a solve running on the
// builder when the caller aborts or fails (the Solve stream is cancelled,
// which cancels the job on the builder).
import { randomBytes, createHash } from 'node:crypto';
import path from 'node:path';
import type http2 from 'node:http2';
import { UserError } from '../errors.js';
import type {
  BuildKitClient,
  BuildOptions,
  BuildResult,
  BuilderTls,
  CacheRecord,
  Exporter,
  Gateway,
  GatewayRef,
  ImageConfigFile,
  ProgressEvent,
  PruneOptions,
  Worker,
} from './api.js';
import {
  decodeControlSolveResponse,
  decodeEmpty,
  decodeGatewaySolveResponse,
  decodeListWorkersResponse,
  decodeReadFileResponse,
  decodeResolveImageConfigResponse,
  encodeControlSolveRequest,
  encodeEmpty,
  encodeGatewaySolveRequest,
  encodeReadFileRequest,
  encodeResolveImageConfigRequest,
  encodeReturnRequest,
  encodeStatusRequest,
} from './messages.js';
import { GrpcChannel, GrpcError, GrpcStatus } from './grpc.js';
import { SecretRedactor } from './redact.js';
import { decodeStatusResponse, type StatusUpdate } from './status-decode.js';
import { readDockerignore } from './filesync/dockerignore.js';
import { BuildSession } from './session.js';
import { isLocalBuilder, openControlSession, parseBuilderUrl, resolveBuilderUrl, type BuilderAddress } from './transport.js';
import { openServerStream } from './status-stream.js';

export { resolveBuilderUrl };

const CONTROL = '/moby.buildkit.v1.Control';
/**
 * While a build runs its progress is read at most this often: a 30-stage
 * build sends ~170 messages, and taking a few at a time costs the client a
 * fraction of the CPU (the engine needs it; see ./status-stream.ts).
 */
const STATUS_READ_EVERY_MS = 50;
/** How long a failed build waits for the rest of its progress (the failing step's output). */
const STATUS_DRAIN_MS = 500;
const BRIDGE = '/moby.buildkit.v1.frontend.LLBBridge';
/**
 * A build is solved at most this often: again only after a fault of the
 * builder's own (see schedulerRace), never after a step failed.
 */
const SOLVE_ATTEMPTS = 3;
const RACE_CAUSE = 'a fault of BuildKit 0.8 as in Docker Engine 20.10 when many steps start at once';

/** A build that failed on the builder (a step exited non-zero, a secret was missing, ...). */
export class BuildFailedError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BuildFailedError';
  }
}

/** The caller aborted the build; the solve was cancelled on the builder. */
export class BuildCancelledError extends UserError {
  constructor() {
    super('the build was cancelled; nothing was exported.');
    this.name = 'BuildCancelledError';
  }
}

/**
 * Connects to the builder named by `url` (or HANGAR_BUILDER, DOCKER_HOST,
 * the local Docker socket). Throws a UserError naming the endpoint when it
 * cannot be reached.
 */
export async function connectBuilder(
  url: string | undefined,
  env: NodeJS.ProcessEnv = {},
  tls: BuilderTls = {},
  options: ConnectOptions = {},
): Promise<BuildKitClient> {
  const addr = parseBuilderUrl(resolveBuilderUrl(url, env));
  const session = await openControlSession(addr, tls);
  const usesTls = Boolean(tls.ca || tls.cert || tls.key);
  return new Client(addr, session, options.sessionTransport ?? (addr.kind === 'engine' ? 'upgrade' : 'control-stream'), !usesTls);
}

export interface ConnectOptions {
  /**
   * How the build session reaches the builder: the engine's `/session`
   * upgrade, or a Control/Session stream (buildkitd's way, which the engine's
   * BuildKit also accepts). Defaults to what the URL's kind uses.
   */
  sessionTransport?: 'upgrade' | 'control-stream';
}

class Client implements BuildKitClient {
  readonly url: string;
  readonly #channel: GrpcChannel;

  constructor(
    readonly addr: BuilderAddress,
    readonly session: http2.ClientHttp2Session,
    readonly sessionTransport: 'upgrade' | 'control-stream',
    /** Status is read over a plain connection of its own (./status-stream.ts); not through TLS. */
    readonly statusOwnConnection = true,
  ) {
    this.url = addr.url;
    this.#channel = new GrpcChannel(session);
  }

  async listWorkers(): Promise<Worker[]> {
    const res = await this.#channel.unary(`${CONTROL}/ListWorkers`, encodeEmpty, decodeListWorkersResponse, {}, { timeoutMs: 30_000 });
    return res.record.map((r) => ({
      id: r.ID,
      labels: { ...r.Labels },
      platforms: r.platforms.map((p) => ({ os: p.OS, architecture: p.Architecture, ...(p.Variant ? { variant: p.Variant } : {}) })),
    }));
  }

  async diskUsage(): Promise<CacheRecord[]> {
    const { diskUsage } = await import('./cache-usage.js');
    return diskUsage(this.#channel);
  }

  async prune(options: PruneOptions = {}): Promise<CacheRecord[]> {
    const { prune } = await import('./cache-usage.js');
    return prune(this.#channel, options);
  }

  async build(options: BuildOptions): Promise<BuildResult> {
    if (!options.frontend && !options.definition) throw new UserError('a build needs a frontend or a definition; pass one of them.');
    if (options.signal?.aborted) {
      options.secrets?.wipe();
      throw new BuildCancelledError();
    }
    let localDirs: BuildOptions['localDirs'];
    try {
      localDirs = await withDockerignore(options.localDirs);
    } catch (err) {
      options.secrets?.wipe();
      throw err;
    }
    const redactor = new SecretRedactor(options.secrets?.values() ?? []);
    const session = new BuildSession({
      ...(options.sessionId ? { id: options.sessionId } : {}),
      sharedKey: options.sharedKey ?? sharedKeyFor(options.localDirs),
      ...(options.secrets ? { secrets: options.secrets } : {}),
      ...(localDirs ? { localDirs } : {}),
      ...(options.exporter && 'dest' in options.exporter ? { exportFile: options.exporter.dest } : {}),
      ...(options.exporter?.type === 'local' ? { exportDir: options.exporter.dir } : {}),
      ...(options.onTrace ? { onTrace: options.onTrace } : {}),
      paceSyncs: isLocalBuilder(this.addr),
    });
    // Everything started for this build stops when this aborts.
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (this.sessionTransport === 'upgrade') await session.attachToEngine(this.addr);
      else await session.attachToBuildkitd(this.#channel);
      options.onTrace?.('session attached');
      for (let attempt = 1; ; attempt++) {
        try {
          const solved = await this.#solve(options, session.id, redactor, stop.signal);
          return { ...solved, secretFetches: options.secrets?.fetches() ?? [], bytesSynced: session.bytesSynced };
        } catch (err) {
          const race = stop.signal.aborted ? undefined : schedulerRace(err);
          if (!race) throw err;
          if (attempt === SOLVE_ATTEMPTS) {
            throw new BuildFailedError(
              `the build failed ${SOLVE_ATTEMPTS} times in a row on a race in the builder itself ("${race}", ${RACE_CAUSE}), not on the Dockerfile; run the build again (finished steps are cached), or point --builder at a newer buildkitd.`,
            );
          }
          options.onRetry?.(
            `the builder failed on a race in its own scheduler ("${race}", ${RACE_CAUSE}), not on the Dockerfile; solving again (attempt ${attempt + 1} of ${SOLVE_ATTEMPTS}), reusing the steps that finished.`,
          );
        }
      }
    } catch (err) {
      if (options.signal?.aborted) throw new BuildCancelledError();
      if (err instanceof UserError) throw err;
      if (err instanceof GrpcError) {
        throw new BuildFailedError(`the build failed: ${redactor.redactText(cleanSolveError(err.details))}`);
      }
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      stop.abort();
      session.close();
      options.secrets?.wipe();
      redactor.wipe();
    }
  }

  /**
   * One Solve of the build on an attached session: the definition or the
   * frontend, the progress, the export. A failed solve stops its own
   * progress and frontend; the session stays for another solve.
   */
  async #solve(
    options: BuildOptions,
    sessionId: string,
    redactor: SecretRedactor,
    buildSignal: AbortSignal,
  ): Promise<{ ref: string; exporterResponse: Record<string, string>; imageDigest?: string }> {
    const ref = randomBytes(16).toString('hex');
    // Everything this solve started stops when this aborts (the build's signal aborts it too).
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    buildSignal.addEventListener('abort', onAbort, { once: true });
    let status: { done: Promise<void>; hurry(): void } | undefined;
    let succeeded = false;
    try {
      const exporter = exporterRequest(options.exporter);
      const solve = this.#channel.unary(
        `${CONTROL}/Solve`,
        encodeControlSolveRequest,
        decodeControlSolveResponse,
        {
          Ref: ref,
          Session: sessionId,
          ...(options.definition ? { Definition: options.definition.definition } : {}),
          Exporter: exporter.type,
          ExporterAttrs: exporter.attrs,
          Entitlements: options.entitlements ?? [],
          Frontend: '',
        },
        { signal: stop.signal },
      );
      let solveError: unknown;
      solve.catch((err: unknown) => {
        solveError = err;
      });
      if (options.definition) options.onTrace?.('definition handed to the builder');
      status = this.#followStatus(ref, redactor, options.onProgress, stop.signal, options.onTrace);

      if (options.frontend) {
        const gatewayStop = new AbortController();
        const onStop = (): void => gatewayStop.abort();
        stop.signal.addEventListener('abort', onStop, { once: true });
        // A solve that ends early (error, session lost) must not leave the frontend waiting.
        solve.then(onStop, onStop);
        const gateway = this.#gateway(ref, sessionId, gatewayStop.signal);
        let frontendError: unknown;
        let returned: { ref: GatewayRef | null; imageConfig?: ImageConfigFile } | undefined;
        try {
          returned = await options.frontend(gateway);
        } catch (err) {
          frontendError = err;
        }
        if (!stop.signal.aborted) {
          const meta = (m: string): Record<string, string> => ({ 'buildkit-controlapi-buildid': m });
          await this.#channel
            .unary(
              `${BRIDGE}/Return`,
              encodeReturnRequest,
              decodeEmpty,
              frontendError !== undefined
                ? { error: { code: GrpcStatus.UNKNOWN, message: redactor.redactText(errorText(frontendError)) } }
                : {
                    result: {
                      ...(returned?.ref ? { ref: returned.ref.id } : {}),
                      metadata: returned?.imageConfig ? { 'containerimage.config': Buffer.from(JSON.stringify(returned.imageConfig)) } : {},
                    },
                  },
              { metadata: meta(ref), signal: gatewayStop.signal },
            )
            .catch((err: unknown) => {
              frontendError ??= err;
            });
        }
        if (frontendError !== undefined && !stop.signal.aborted) {
          // The solve ends with the frontend's error; wait for it so nothing is left running.
          await solve.catch(() => undefined);
          // A gateway call that failed because the solve had already failed: report the cause.
          if (!(frontendError instanceof UserError) && solveError !== undefined) throw solveError;
          // No `cause`: the original error's text has not been through the redactor.
          if (frontendError instanceof UserError) {
            const text = redactor.redactText(frontendError.message);
            throw text === frontendError.message ? frontendError : new UserError(text);
          }
          throw new BuildFailedError(`the build failed: ${redactor.redactText(errorText(frontendError))}`);
        }
      }

      const res = await solve.finally(() => status?.hurry());
      options.onTrace?.('solved and exported');
      await status.done;
      succeeded = true;
      const exporterResponse = { ...res.ExporterResponse };
      // The image id (its config's digest), as docker prints it; the moby exporter reports it as the digest.
      const imageDigest = exporterResponse['containerimage.config.digest'] ?? exporterResponse['containerimage.digest'];
      return { ref, exporterResponse, ...(imageDigest ? { imageDigest } : {}) };
    } finally {
      buildSignal.removeEventListener('abort', onAbort);
      if (!succeeded && !buildSignal.aborted && status) {
        // A failed solve: the failing step's last output may still be on its way.
        status.hurry();
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([status.done, new Promise((resolve) => (timer = setTimeout(resolve, STATUS_DRAIN_MS)))]);
        clearTimeout(timer);
      }
      stop.abort();
      await status?.done.catch(() => undefined);
    }
  }

  #gateway(ref: string, sessionId: string, signal: AbortSignal): Gateway {
    const metadata = { 'buildkit-controlapi-buildid': ref };
    const channel = this.#channel;
    return {
      sessionId,
      async resolveImageConfig(imageRef, opts = {}) {
        const res = await channel.unary(
          `${BRIDGE}/ResolveImageConfig`,
          encodeResolveImageConfigRequest,
          decodeResolveImageConfigResponse,
          {
            Ref: imageRef,
            ResolveMode: opts.resolveMode ?? 'default',
            LogName: `resolve image config for ${imageRef}`,
            ...(opts.platform ? { Platform: { OS: opts.platform.os, Architecture: opts.platform.architecture, Variant: opts.platform.variant ?? '' } } : {}),
          },
          { metadata, signal },
        );
        return { digest: res.Digest, config: JSON.parse(Buffer.from(res.Config).toString()) as ImageConfigFile, raw: res.Config };
      },
      async solve(def, opts = {}) {
        const res = await channel.unary(
          `${BRIDGE}/Solve`,
          encodeGatewaySolveRequest,
          decodeGatewaySolveResponse,
          // Without allowResultArrayRef the answer is the ref's id alone, not also the whole definition echoed back.
          { Definition: def.definition, allowResultReturn: true, allowResultArrayRef: false, Evaluate: opts.evaluate === true },
          { metadata, signal },
        );
        const id = res.result?.ref ?? res.result?.refDeprecated ?? res.ref;
        if (!id) throw new BuildFailedError('the builder solved the definition but returned no result reference.');
        return { id };
      },
      async readFile(r, filePath, range) {
        const res = await channel.unary(
          `${BRIDGE}/ReadFile`,
          encodeReadFileRequest,
          decodeReadFileResponse,
          { Ref: r.id, FilePath: filePath, ...(range ? { Range: { Offset: BigInt(range.offset), Length: BigInt(range.length) } } : {}) },
          { metadata, signal },
        );
        return Buffer.from(res.Data);
      },
    };
  }

  /**
   * Follows the build's progress until the engine ends it (or `signal`).
   * Progress is best effort: how the stream ends is not an error, the
   * solve's own result decides success. `hurry()` once the solve is over.
   */
  #followStatus(
    ref: string,
    redactor: SecretRedactor,
    onProgress: ((e: ProgressEvent) => void) | undefined,
    signal: AbortSignal,
    onTrace?: (event: string) => void,
  ): { done: Promise<void>; hurry(): void } {
    const completed = new Set<string>();
    const keysOf = new Map<string, Set<string>>();
    const handle = (msg: StatusUpdate): void => {
      const event = toProgressEvent(msg, redactor, keysOf, completed);
      if (onProgress && (event.vertexes.length || event.statuses.length || event.logs.length)) onProgress(event);
    };
    let read: Promise<unknown>;
    let hurry = (): void => undefined;
    if (this.statusOwnConnection) {
      const stream = openServerStream(this.addr, `${CONTROL}/Status`, encodeStatusRequest({ Ref: ref }), (bytes) => handle(decodeStatusResponse(bytes)), {
        signal,
        readEveryMs: STATUS_READ_EVERY_MS,
      });
      read = stream.done.then((end) =>
        onTrace?.(`progress: ${stream.messages} messages in ${stream.reads} reads, stream ${end.kind === 'failed' ? `failed (${end.reason})` : end.kind}`),
      );
      hurry = stream.hurry;
    } else {
      read = (async () => {
        for await (const msg of this.#channel.serverStream(`${CONTROL}/Status`, encodeStatusRequest, decodeStatusResponse, { Ref: ref }, { signal })) handle(msg);
      })().catch(() => undefined);
    }
    const done = read.then(() => {
      // Whatever the redactor held back is not a whole secret; show it.
      const rest: ProgressEvent = { vertexes: [], statuses: [], logs: [] };
      for (const [vertex, keys] of keysOf) {
        for (const key of keys) {
          const data = redactor.flush(key);
          if (data.length > 0) rest.logs.push({ vertex, stream: Number(key.split('|')[1]), data, time: new Date() });
        }
      }
      if (onProgress && rest.logs.length) onProgress(rest);
    });
    return { done, hurry };
  }

  close(): void {
    this.session.close();
  }
}

/**
 * One Status message as a progress event, with the build's secret values
 * masked in every text the engine sends: step names, errors, status ids and
 * names, and RUN output (held back across messages by `keysOf`).
 */
export function toProgressEvent(msg: StatusUpdate, redactor: SecretRedactor, keysOf: Map<string, Set<string>>, completed: Set<string>): ProgressEvent {
  const event: ProgressEvent = { vertexes: [], statuses: [], logs: [] };
  for (const l of msg.logs) {
    const key = `${l.vertex}|${l.stream}`;
    if (!keysOf.has(l.vertex)) keysOf.set(l.vertex, new Set());
    keysOf.get(l.vertex)!.add(key);
    const data = redactor.push(key, Buffer.from(l.msg));
    if (data.length > 0) event.logs.push({ vertex: l.vertex, stream: l.stream, data, time: l.timestamp ?? new Date() });
  }
  for (const v of msg.vertexes) {
    const done = v.completed;
    if (done && !completed.has(v.digest)) {
      completed.add(v.digest);
      for (const key of keysOf.get(v.digest) ?? []) {
        const data = redactor.flush(key);
        if (data.length > 0) event.logs.push({ vertex: v.digest, stream: Number(key.split('|')[1]), data, time: done });
      }
    }
    event.vertexes.push({
      digest: v.digest,
      name: redactor.redactText(v.name),
      inputs: [...v.inputs],
      cached: v.cached,
      ...(v.started ? { started: v.started } : {}),
      ...(done ? { completed: done } : {}),
      ...(v.error ? { error: redactor.redactText(v.error) } : {}),
    });
  }
  for (const s of msg.statuses) {
    event.statuses.push({
      id: redactor.redactText(s.ID),
      vertex: s.vertex,
      name: redactor.redactText(s.name),
      current: s.current,
      total: s.total,
      ...(s.timestamp ? { timestamp: s.timestamp } : {}),
      ...(s.started ? { started: s.started } : {}),
      ...(s.completed ? { completed: s.completed } : {}),
    });
  }
  return event;
}

function exporterRequest(exporter: Exporter | undefined): { type: string; attrs: Record<string, string> } {
  if (!exporter) return { type: '', attrs: {} };
  switch (exporter.type) {
    case 'moby':
      // No name: the image is stored untagged, as `docker build` without -t does.
      return { type: 'moby', attrs: exporter.name ? { name: exporter.name } : {} };
    case 'image':
      return { type: 'image', attrs: { name: exporter.name, push: exporter.push ? 'true' : 'false' } };
    case 'oci':
    case 'docker':
      return { type: exporter.type, attrs: exporter.name ? { name: exporter.name } : {} };
    case 'tar':
      return { type: 'tar', attrs: {} };
    case 'local':
      return { type: 'local', attrs: {} };
  }
}

/** Same directories → same key, so BuildKit can reuse what it received last time. */
function sharedKeyFor(dirs: BuildOptions['localDirs']): string {
  const h = createHash('sha256');
  for (const [name, d] of Object.entries(dirs ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    h.update(`${name}=${path.resolve(typeof d === 'string' ? d : d.dir)}\n`);
  }
  return h.digest('hex').slice(0, 32);
}

async function withDockerignore(dirs: BuildOptions['localDirs']): Promise<BuildOptions['localDirs']> {
  if (!dirs) return dirs;
  const out: NonNullable<BuildOptions['localDirs']> = {};
  for (const [name, d] of Object.entries(dirs)) {
    if (typeof d === 'string' || !d.dockerignore) {
      out[name] = d;
      continue;
    }
    out[name] = { dir: d.dir, excludePatterns: [...(await readDockerignore(d.dir)), ...(d.excludePatterns ?? [])] };
  }
  return out;
}

function errorText(err: unknown): string {
  if (err instanceof GrpcError) return cleanSolveError(err.details);
  return err instanceof Error ? err.message : String(err);
}

/**
 * BuildKit 0.8 (Docker Engine 20.10) has a race in its request deduplication
 * ("flightcontrol"): when many steps start at once, a step can fail before
 * its command runs with "flightcontrol: exceeded retry timeout" (a cold
 * 30-stage build here: about one in seven). Nothing of the Dockerfile's is at
 * fault and the steps that finished are cached, so the build can be solved
 * again. Returns the fault's text when `err` is that, else undefined.
 */
export function schedulerRace(err: unknown): string | undefined {
  const text = err instanceof GrpcError ? err.details : err instanceof Error ? err.message : '';
  // At the end only: a failing RUN's message quotes its command, and then ends with the exit code.
  return /(?:^|: )flightcontrol: exceeded retry timeout\s*$/.test(text) ? 'flightcontrol: exceeded retry timeout' : undefined;
}

/** BuildKit wraps errors in layers of "rpc error: code = ... desc ="; keep the meaning. */
export function cleanSolveError(details: string): string {
  return details.replace(/rpc error: code = \w+ desc = /g, '').trim();
}
