// Asks a Docker Engine whether an image is in its local store (GET
// /images/{name}/json), so that a missing base image is reported before
// BuildKit is asked to resolve it: resolving a missing image makes the engine
// reach out to a registry, which an offline, self-hosted build must not do
// unless the user asked for it. Sends nothing but the image reference.
//
// One request on its own connection, read up to the status line: written
// over a plain socket because node:http's first request costs more start-up
// (~8 ms) than the lookup itself, on every build.
import net from 'node:net';
import type { BuilderAddress } from './transport.js';
import { connectionError } from './transport.js';

/** True when the engine's image store has `ref`; false on 404. */
export function engineHasImage(addr: BuilderAddress, ref: string, timeoutMs = 10_000): Promise<boolean> {
  // The engine's router takes the reference verbatim (slashes included); a
  // valid reference has no character that needs escaping.
  if (!/^[A-Za-z0-9._/:@-]+$/.test(ref)) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    const socket = addr.socketPath ? net.connect(addr.socketPath) : net.connect(addr.port!, addr.host!);
    let head = '';
    let settled = false;
    const done = (err: Error | undefined, found?: boolean): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(found!);
    };
    socket.setTimeout(timeoutMs, () => done(new Error('the image lookup timed out')));
    socket.on('connect', () => socket.write(`GET /images/${ref}/json HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const eol = head.indexOf('\r\n');
      if (eol < 0) {
        if (head.length > 1024) done(new Error('the engine sent no status line to an image lookup'));
        return;
      }
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.slice(0, eol))?.[1]);
      if (status === 200) done(undefined, true);
      else if (status === 404) done(undefined, false);
      else done(new Error(`the engine answered ${Number.isNaN(status) ? 'an unreadable status' : status} to an image lookup`));
    });
    socket.on('error', (err) => done(connectionError(addr, err)));
    socket.on('close', () => done(new Error('the engine closed the connection during an image lookup')));
  });
}
