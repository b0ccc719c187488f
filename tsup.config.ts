import { defineConfig } from 'tsup';

// One bundle for the CLI (and the server it can start); dependencies stay in
// node_modules so native modules such as better-sqlite3 load as usual.
export default defineConfig({
  entry: { hangar: 'src/cli/main.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  outDir: 'dist',
  sourcemap: true,
  clean: false,
  splitting: false,
  shims: false,
});
