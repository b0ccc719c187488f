// NODE_EXTRA_CA_CERTS when bin/hangar kept it from Node's start-up (Node
// loads the file before any code runs, 40-70 ms of CPU on a small machine, and the
// commands bin/hangar does this for make TLS connections only to a
// buildkit+tcp:// builder). Those connections add the certificates to Node's
// default roots themselves, as Node would have.
import { readFileSync } from 'node:fs';

const KEY = Symbol.for('hangar.deferredExtraCaCerts');

/** The extra CA certificates (PEM) Node did not load, or undefined when it did or none were given. */
export function deferredExtraCaCerts(): Buffer | undefined {
  const file = (globalThis as Record<symbol, unknown>)[KEY];
  if (typeof file !== 'string' || file === '') return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    // What Node itself does with a file it cannot read: warn and go on without it.
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return undefined;
  }
}
