import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'tsup';

// The CLI (and the server it can start) as one CommonJS file, dist/hangar.cjs,
// which bin/hangar.cjs loads with a V8 code cache (see there): Node 20 has no
// code cache for ES modules, and compiling the CLI's code on every run was a
// fifth of what a small `hangar build` cost the client. Each command's modules
// stay lazy: esbuild wraps a module reached only through `import()` in an
// initializer that runs on first use, and keeps the `require()` of a package
// inside it, so `hangar --version` evaluates commander and little else.
// Dependencies stay in node_modules (native modules such as better-sqlite3
// load as usual). Two are bundled: commander, which every command uses; and
// @bufbuild/protobuf, used only for cache usage and pruning, whose dozens of
// small files cost 40-60 ms to load one by one (a build does not use it at
// all: src/buildkit/messages.ts). `import()` of Node's own modules becomes
// `require()` (the code cache's script has no ES module loader).
// dist/metafile-cjs.json is esbuild's module graph, which test/cli/startup.test.ts
// reads to check what each command pulls in.
//
// Other processes may run ./bin/hangar while this builds, so dist/hangar.cjs
// must never be missing or half-written: the build goes to a private
// directory and each file moves into dist/ by rename, the entry last. Outputs
// of the earlier layout (an ES module entry with chunks) and of builds that
// failed are removed once they are old enough that no running command can
// still be loading them.
const OUT = 'dist';
const STAGING = join(OUT, `.build-${process.pid}`);
const UNUSED_OUTPUT_GRACE_MS = 60 * 60 * 1000;

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

const OUTPUTS = ['metafile-cjs.json', 'hangar.cjs.map', 'hangar.cjs'];

function publish(): void {
  for (const f of OUTPUTS) renameSync(join(STAGING, f), join(OUT, f));
  rmSync(STAGING, { recursive: true, force: true });
  for (const f of readdirSync(OUT)) {
    const path = join(OUT, f);
    const stale = f.startsWith('.build-') || f === 'chunks' || f === 'hangar.js' || f === 'hangar.js.map' || /-[A-Z0-9]{8}\.js(\.map)?$/.test(f);
    if (stale && ageMs(path) > UNUSED_OUTPUT_GRACE_MS) rmSync(path, { recursive: true, force: true });
  }
}

export default defineConfig({
  entry: { hangar: 'src/cli/main.ts' },
  format: ['cjs'],
  target: 'node20',
  platform: 'node',
  outDir: STAGING,
  sourcemap: true,
  clean: false,
  splitting: false,
  metafile: true,
  // import.meta.url, for the one module that resolves a package's path.
  shims: true,
  noExternal: ['@bufbuild/protobuf', 'commander'],
  esbuildOptions(options) {
    options.supported = { ...options.supported, 'dynamic-import': false };
  },
  async onSuccess() {
    publish();
  },
});
