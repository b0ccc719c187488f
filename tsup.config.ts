import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'tsup';

// The CLI (and the server it can start) as an ESM entry, dist/hangar.js, plus
// chunks that each command loads on use, so that `hangar --version` loads
// commander and little else. Dependencies stay in node_modules (native modules
// such as better-sqlite3 load as usual); a chunk carries its own imports of
// them, so they load only when that chunk does. Two exceptions are bundled:
// commander, which every command loads and which, as six CommonJS files
// loaded through the ESM loader, cost ~6 ms of every run; and
// @bufbuild/protobuf, in the chunk that uses it (cache usage and pruning),
// whose dozens of small ESM files cost ~35 ms when resolved one by one (a
// build does not load it at all: src/buildkit/messages.ts). Bundled CommonJS
// calls require() for Node's own modules, hence the banner giving each
// output file one.
//
// Other processes may run ./bin/hangar while this builds, so dist/hangar.js
// must never be missing nor point at chunks not yet written: the build goes to
// a private directory, chunks move into dist/chunks/ first (their names carry
// a content hash, so a new entry cannot pick up a stale one), the entry last,
// by rename. Chunks the new build does not use are removed once they are old
// enough that no running command can still be loading them.
const OUT = 'dist';
const CHUNKS = 'chunks';
const STAGING = join(OUT, `.build-${process.pid}`);
const UNUSED_CHUNK_GRACE_MS = 60 * 60 * 1000;

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function publish(): void {
  mkdirSync(join(OUT, CHUNKS), { recursive: true });
  const chunks = existsSync(join(STAGING, CHUNKS)) ? readdirSync(join(STAGING, CHUNKS)) : [];
  for (const f of chunks) renameSync(join(STAGING, CHUNKS, f), join(OUT, CHUNKS, f));
  // The map first: the entry is what makes this build the current one.
  for (const f of ['hangar.js.map', 'hangar.js']) renameSync(join(STAGING, f), join(OUT, f));
  rmSync(STAGING, { recursive: true, force: true });

  for (const f of readdirSync(join(OUT, CHUNKS))) {
    const path = join(OUT, CHUNKS, f);
    if (!chunks.includes(f) && ageMs(path) > UNUSED_CHUNK_GRACE_MS) rmSync(path, { force: true });
  }
  // Leftovers of builds that failed or were killed, and chunks of builds that
  // put them next to the entry.
  for (const f of readdirSync(OUT)) {
    const path = join(OUT, f);
    if ((f.startsWith('.build-') || /-[A-Z0-9]{8}\.js(\.map)?$/.test(f)) && ageMs(path) > UNUSED_CHUNK_GRACE_MS) {
      rmSync(path, { recursive: true, force: true });
    }
  }
}

export default defineConfig({
  entry: { hangar: 'src/cli/main.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  outDir: STAGING,
  sourcemap: true,
  clean: false,
  splitting: true,
  shims: false,
  noExternal: ['@bufbuild/protobuf', 'commander'],
  banner: { js: "import { createRequire as __hangarCreateRequire } from 'node:module'; const require = __hangarCreateRequire(import.meta.url);" },
  esbuildOptions(options) {
    options.chunkNames = `${CHUNKS}/[name]-[hash]`;
  },
  async onSuccess() {
    publish();
  },
});
