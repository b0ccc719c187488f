// Asks a Docker Engine for an image's id in its local store (GET
// /images/{name}/json), so that a missing base image is reported before
// BuildKit is asked to resolve it: resolving a missing image makes the engine
// reach out to a registry, which an offline, self-hosted build must not do
// unless the user asked for it. Sends nothing but the image reference.
//
// One request on its own connection: written over a plain socket because
// node:http's first request costs more start-up (~8 ms) than the lookup
// itself, on every build.
import net from 'node:net';
import type { BuilderAddress } from './transport.js';
import { connectionError } from './transport.js';

/**
 * The id (`sha256:...`, the digest of its config) of `ref` in the engine's
 * image store; null when the engine answers 404.
 */
export function engineImageId(addr: BuilderAddress, ref: string, timeoutMs = 10_000): Promise<string | null> {
  // The engine's router takes the reference verbatim (slashes included); a
  // valid reference has no character that needs escaping.
  if (!/^[A-Za-z0-9._/:@-]+$/.test(ref)) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const socket = addr.socketPath ? net.connect(addr.socketPath) : net.connect(addr.port!, addr.host!);
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (err: Error | undefined, id?: string | null): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(id!);
    };
    socket.setTimeout(timeoutMs, () => done(new Error('the image lookup timed out')));
    // HTTP/1.0: the body comes whole, not chunked, and ends when the engine closes.
    socket.on('connect', () => socket.write(`GET /images/${ref}/json HTTP/1.0\r\nHost: docker\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (chunks.length === 1 && chunk.length >= 12) {
        const status = statusOf(chunk.toString('latin1', 0, 16));
        if (status === 404) done(undefined, null);
        else if (status !== 200) done(new Error(`the engine answered ${Number.isNaN(status) ? 'an unreadable status' : status} to an image lookup`));
      }
    });
    socket.on('error', (err) => done(connectionError(addr, err)));
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = statusOf(text);
      if (status === 404) return done(undefined, null);
      const body = text.indexOf('\r\n\r\n');
      let id: unknown;
      try {
        id = (JSON.parse(text.slice(body + 4)) as { Id?: unknown }).Id;
      } catch {
        // reported below
      }
      if (status === 200 && body >= 0 && typeof id === 'string' && /^sha256:[0-9a-f]{64}$/.test(id)) done(undefined, id);
      else done(new Error(`the engine answered ${Number.isNaN(status) ? 'an unreadable status' : status} to an image lookup, with no image id`));
    });
    socket.on('close', () => done(new Error('the engine closed the connection during an image lookup')));
  });
}

/** The status code of an HTTP/1.x response, from its first bytes. */
function statusOf(head: string): number {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
}
