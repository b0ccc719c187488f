import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'tsup';

// The CLI (and the server it can start) as an ESM entry, dist/hangar.js, plus
// chunks that each command loads on use, so that `hangar --version` loads
// commander and little else. Dependencies stay in node_modules (native modules
// such as better-sqlite3 load as usual); a chunk carries its own imports of
// them, so they load only when that chunk does.
//
// Other processes may run ./bin/hangar while this builds, so dist/hangar.js
// must never be missing nor point at chunks not yet written: the build goes to
// a private directory, chunks move into dist/ first (their names carry a
// content hash, so a new entry cannot pick up a stale one), the entry last, by
// rename. Chunks no build references any more are removed once they are old
// enough that no running command can still be loading them.
const OUT = 'dist';
const STAGING = join(OUT, `.build-${process.pid}`);
const UNUSED_CHUNK_GRACE_MS = 60 * 60 * 1000;
const ENTRY = 'hangar.js';

function publish(): void {
  const built = readdirSync(STAGING);
  const entryFiles = [`${ENTRY}.map`, ENTRY];
  for (const f of built.filter((f) => !entryFiles.includes(f))) renameSync(join(STAGING, f), join(OUT, f));
  for (const f of entryFiles.filter((f) => built.includes(f))) renameSync(join(STAGING, f), join(OUT, f));
  rmSync(STAGING, { recursive: true, force: true });

  const now = Date.now();
  for (const f of readdirSync(OUT)) {
    const path = join(OUT, f);
    if (built.includes(f)) continue;
    const old = (() => {
      try {
        return now - statSync(path).mtimeMs > UNUSED_CHUNK_GRACE_MS;
      } catch {
        return false;
      }
    })();
    // Leftovers of builds that failed or were killed, and chunks of earlier builds.
    if (old && (f.startsWith('.build-') || /^chunk-[A-Za-z0-9]+\.js(\.map)?$/.test(f))) rmSync(path, { recursive: true, force: true });
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
  async onSuccess() {
    mkdirSync(OUT, { recursive: true });
    publish();
  },
});
