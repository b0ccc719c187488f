// Asks a Docker Engine whether an image is in its local store (GET
// /images/{name}/json), so that a missing base image is reported before
// BuildKit is asked to resolve it: resolving a missing image makes the engine
// reach out to a registry, which an offline, self-hosted build must not do
// unless the user asked for it. Sends nothing but the image reference.
import http from 'node:http';
import type { BuilderAddress } from './transport.js';
import { connectionError } from './transport.js';

/** True when the engine's image store has `ref`; false on 404. */
export function engineHasImage(addr: BuilderAddress, ref: string, timeoutMs = 10_000): Promise<boolean> {
  // The engine's router takes the reference verbatim (slashes included); a
  // valid reference has no character that needs escaping.
  if (!/^[A-Za-z0-9._/:@-]+$/.test(ref)) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        ...(addr.socketPath ? { socketPath: addr.socketPath } : { host: addr.host, port: addr.port }),
        method: 'GET',
        path: `/images/${ref}/json`,
        headers: { Host: 'docker' },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) resolve(true);
          else if (res.statusCode === 404) resolve(false);
          else reject(new Error(`the engine answered ${res.statusCode} to an image lookup`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('the image lookup timed out')));
    req.on('error', (err) => reject(connectionError(addr, err)));
    req.end();
  });
}
