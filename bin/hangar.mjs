#!/usr/bin/env node
// The Hangar CLI's entry, run by bin/hangar (or `node bin/hangar.mjs`).
import { existsSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

// bin/hangar passes NODE_EXTRA_CA_CERTS under another name for commands that
// apply it themselves (Node would load it at start-up); it is put back here so
// that child processes see the environment as it was given.
const deferredCa = process.env.HANGAR_DEFERRED_EXTRA_CA_CERTS;
if (deferredCa !== undefined) {
  delete process.env.HANGAR_DEFERRED_EXTRA_CA_CERTS;
  process.env.NODE_EXTRA_CA_CERTS = deferredCa;
  globalThis[Symbol.for('hangar.deferredExtraCaCerts')] = deferredCa;
}

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'hangar.js');
if (!existsSync(entry)) {
  process.stderr.write('hangar: this checkout is not built yet; run `bash scripts/setup.sh` first.\n');
  process.exit(1);
}
// A reader that goes away early (`hangar ... | head`) ends the output, not in a crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
const { run } = await import(pathToFileURL(entry).href);
process.exitCode = await run(process.argv.slice(2));
