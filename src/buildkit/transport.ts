// Reaching a builder: which URL to use, and the HTTP/2 connections to it.
// A Docker Engine (`unix://`, `tcp://`) is reached by upgrading an HTTP/1.1
// request to h2c on `/grpc` (we are the HTTP/2 client) or `/session` (the
// engine is the client and we serve). A buildkitd (`buildkit+unix://`,
// `buildkit+tcp://`) speaks gRPC directly, with TLS when given files.
//
// Must never: contact anything but the URL it was given, or put the contents
// of TLS key files in an error.
import net from 'node:net';
import type tls from 'node:tls';
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { UserError } from '../errors.js';
import { deferredExtraCaCerts } from '../config/extra-ca.js';
import type { BuilderTls } from './api.js';

export const DEFAULT_BUILDER = 'unix:///var/run/docker.sock';

export interface BuilderAddress {
  /** `engine`: Docker Engine API; `buildkitd`: BuildKit's own gRPC server. */
  kind: 'engine' | 'buildkitd';
  url: string;
  socketPath?: string;
  host?: string;
  port?: number;
}

/** A builder on this machine: a unix socket, or TCP to a loopback address. */
export function isLocalBuilder(addr: BuilderAddress): boolean {
  if (addr.socketPath !== undefined) return true;
  const host = (addr.host ?? '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `--builder URL` > HANGAR_BUILDER > DOCKER_HOST > the local Docker socket. */
export function resolveBuilderUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  for (const candidate of [flag, env.HANGAR_BUILDER, env.DOCKER_HOST]) {
    if (candidate !== undefined && candidate.trim() !== '') return candidate.trim();
  }
  return DEFAULT_BUILDER;
}

export function parseBuilderUrl(url: string): BuilderAddress {
  const m = /^([a-z+]+):\/\/(.*)$/.exec(url);
  const fix = 'use unix:///path, tcp://host:port, buildkit+unix:///path or buildkit+tcp://host:port';
  if (!m) throw new UserError(`builder URL ${JSON.stringify(url)} is not valid; ${fix}.`);
  const [, scheme, rest] = m as unknown as [string, string, string];
  const kind = scheme.startsWith('buildkit+') ? 'buildkitd' : 'engine';
  const transport = scheme.replace(/^buildkit\+/, '');
  if (transport === 'unix') {
    if (!rest.startsWith('/')) throw new UserError(`builder URL ${JSON.stringify(url)} needs an absolute socket path; ${fix}.`);
    return { kind, url, socketPath: rest };
  }
  if (transport === 'tcp') {
    const hp = /^(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(rest);
    if (!hp) throw new UserError(`builder URL ${JSON.stringify(url)} needs a host and port; ${fix}.`);
    const port = Number(hp[2]);
    if (port < 1 || port > 65535) throw new UserError(`builder URL ${JSON.stringify(url)} has an invalid port; ${fix}.`);
    return { kind, url, host: hp[1]!.replace(/^\[|\]$/g, ''), port };
  }
  throw new UserError(`builder URL scheme ${JSON.stringify(scheme)} is not supported; ${fix}.`);
}

/** One sentence naming the endpoint and the likely fix. */
export function connectionError(addr: BuilderAddress, err: unknown): UserError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? (err instanceof Error ? err.message : String(err));
  const fix =
    addr.kind === 'engine'
      ? 'start the Docker Engine or point --builder / DOCKER_HOST at a running one'
      : 'start buildkitd or point --builder / HANGAR_BUILDER at a running one';
  const perm = code === 'EACCES' ? ' (permission denied: run as a user who may use that socket)' : '';
  return new UserError(`cannot reach the builder at ${addr.url} (${code})${perm}; ${fix}.`, { cause: err });
}

function dialRaw(addr: BuilderAddress): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = addr.socketPath ? net.connect(addr.socketPath) : net.connect(addr.port!, addr.host!);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', (err) => reject(connectionError(addr, err)));
  });
}

/** The HTTP/1.1 request that turns a connection to the engine into HTTP/2 on `path`. */
export function engineUpgradeRequest(path: '/grpc' | '/session', headers: [string, string][] = []): string {
  const head = [`POST ${path} HTTP/1.1`, 'Host: docker', 'Connection: Upgrade', 'Upgrade: h2c', 'Content-Length: 0', ...headers.map(([k, v]) => `${k}: ${v}`)];
  return `${head.join('\r\n')}\r\n\r\n`;
}

/**
 * The engine's answer to an upgrade request, from the bytes read so far:
 * undefined while its head is incomplete; its status and the bytes after the
 * head (the first of HTTP/2) once whole. Throws when the head grows past 64 KiB.
 */
export function readUpgradeAnswer(buf: Buffer): { status: number; statusLine: string; rest: Buffer } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length > 64 * 1024) throw new Error('the answer to the upgrade request is too long');
    return undefined;
  }
  const statusLine = buf.subarray(0, buf.indexOf('\r\n')).toString('latin1');
  return { status: Number(statusLine.split(' ')[1]), statusLine, rest: buf.subarray(end + 4) };
}

/**
 * Sends `POST path` with `Upgrade: h2c` to the engine and returns the socket
 * once it answers 101, with any bytes after the response head put back.
 */
export async function upgradeEngineSocket(addr: BuilderAddress, path: '/grpc' | '/session', headers: [string, string][] = []): Promise<net.Socket> {
  const socket = await dialRaw(addr);
  socket.write(engineUpgradeRequest(path, headers));
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const fail = (err: unknown): void => {
      socket.off('data', onData);
      socket.destroy();
      reject(err instanceof UserError ? err : connectionError(addr, err));
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      let answer: ReturnType<typeof readUpgradeAnswer>;
      try {
        answer = readUpgradeAnswer(buf);
      } catch (err) {
        return fail(err);
      }
      if (!answer) return;
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('end', onEnd);
      socket.pause();
      const { status, statusLine, rest } = answer;
      if (status !== 101) {
        socket.destroy();
        const why = status === 404 ? 'the engine has no BuildKit endpoint; use Docker Engine 18.09 or later' : `the engine answered ${statusLine}`;
        return reject(new UserError(`the builder at ${addr.url} refused the ${path} upgrade (${why}).`));
      }
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    const onEnd = (): void => fail(new Error('the connection closed during the upgrade'));
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('end', onEnd);
  });
}

/** An HTTP/2 client session carrying the Control and gateway APIs. */
export async function openControlSession(addr: BuilderAddress, tlsFiles: BuilderTls = {}): Promise<http2.ClientHttp2Session> {
  if (addr.kind === 'engine') {
    const socket = await upgradeEngineSocket(addr, '/grpc');
    const session = http2.connect('http://docker', { createConnection: () => socket });
    return waitConnected(session, addr);
  }
  if (addr.socketPath) {
    const socket = await dialRaw(addr);
    return waitConnected(http2.connect('http://buildkitd', { createConnection: () => socket }), addr);
  }
  const useTls = Boolean(tlsFiles.ca || tlsFiles.cert || tlsFiles.key);
  if (!useTls) {
    const socket = await dialRaw(addr);
    return waitConnected(http2.connect(`http://${addr.host}:${addr.port}`, { createConnection: () => socket }), addr);
  }
  if (Boolean(tlsFiles.cert) !== Boolean(tlsFiles.key)) {
    throw new UserError('--builder-tls-cert and --builder-tls-key go together; pass both or neither.');
  }
  const read = (path: string | undefined, flag: string): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new UserError(`cannot read ${flag} file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the path.`);
    }
  };
  const ca = read(tlsFiles.ca, '--builder-tls-ca');
  const cert = read(tlsFiles.cert, '--builder-tls-cert');
  const key = read(tlsFiles.key, '--builder-tls-key');
  // Loaded only here: every build would otherwise pay for it at start-up.
  const { connect: tlsConnect, rootCertificates } = await import('node:tls');
  const extraCa = ca ? undefined : deferredExtraCaCerts();
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tlsConnect({
      host: addr.host!,
      port: addr.port!,
      servername: net.isIP(addr.host!) ? undefined : addr.host!,
      ALPNProtocols: ['h2'],
      ...(ca ? { ca } : extraCa ? { ca: [...rootCertificates, extraCa] } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
    });
    s.once('secureConnect', () => resolve(s));
    s.once('error', (err) => reject(connectionError(addr, err)));
  });
  return waitConnected(http2.connect(`https://${addr.host}:${addr.port}`, { createConnection: () => socket }), addr);
}

function waitConnected(session: http2.ClientHttp2Session, addr: BuilderAddress): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(connectionError(addr, err));
    session.once('error', onError);
    session.once('connect', () => {
      session.off('error', onError);
      // Later errors end calls in flight; they must not crash the process.
      session.on('error', () => undefined);
      resolve(session);
    });
  });
}
