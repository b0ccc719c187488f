// Start-up cost of the CLI: commands load only what they use. Runs the built
// ./bin/hangar with a preloaded module that records, as the process exits,
// every file Node's module loader has loaded, and reads esbuild's module graph
// of dist/hangar.cjs (dist/metafile-cjs.json) for what a command evaluates
// before its own code runs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hangar, ROOT } from '../support/cli.js';

// Packages only the server, store and API need.
const HEAVY = ['zod', '@hono/zod-openapi', '@hono/node-server', 'hono', 'kysely', 'better-sqlite3', 'pg', 'smol-toml'];

// tsup's import.meta.url shim, part of the bundle.
const isShim = (path: string) => /\/node_modules\/tsup\/assets\//.test(path);

function packageOf(path: string): string | undefined {
  if (isShim(path)) return undefined;
  const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  return m?.[1];
}

let dir: string;
let preload: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-startup-'));
  preload = join(dir, 'record-modules.cjs');
  writeFileSync(
    preload,
    [
      "'use strict';",
      "const { writeFileSync } = require('node:fs');",
      "process.on('exit', () => writeFileSync(process.env.HANGAR_TEST_MODULE_LOG, Object.keys(require.cache).join('\\n') + '\\n'));",
    ].join('\n'),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function loadedPackages(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string; files: string[]; packages: Set<string> }> {
  const log = join(dir, `log-${args.join('-').replace(/[^A-Za-z0-9-]/g, '_')}`);
  writeFileSync(log, '');
  const r = await hangar(args, {
    env: { ...env, NODE_OPTIONS: `--require=${preload}`, HANGAR_TEST_MODULE_LOG: log },
  });
  const files = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const packages = new Set(files.map(packageOf).filter((p): p is string => p !== undefined));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, files, packages };
}

interface MetaImport {
  path: string;
  kind: string;
  external?: boolean;
}

/** esbuild's module graph of the bundle: each source file's imports. */
function moduleGraph(): Record<string, { imports: MetaImport[] }> {
  return (JSON.parse(readFileSync(join(ROOT, 'dist', 'metafile-cjs.json'), 'utf8')) as { inputs: Record<string, { imports: MetaImport[] }> }).inputs;
}

/**
 * What evaluating `entry` evaluates first: its static imports, transitively
 * (in the bundle a module reached only through `import()` is wrapped in an
 * initializer that runs on first use). Returns the external packages it
 * requires and the packages bundled into it.
 */
function staticClosure(graph: Record<string, { imports: MetaImport[] }>, entry: string): { external: Set<string>; bundled: Set<string> } {
  const external = new Set<string>();
  const bundled = new Set<string>();
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    const pkg = packageOf(f);
    if (pkg !== undefined) bundled.add(pkg);
    const node = graph[f];
    expect(node, `${f} is in the bundle's module graph`).toBeDefined();
    for (const imp of node!.imports) {
      if (imp.kind === 'dynamic-import') continue;
      if (imp.external) {
        if (!isBuiltin(imp.path) && !isShim(imp.path)) external.add(imp.path.replace(/^((?:@[^/]+\/)?[^/]+).*$/, '$1'));
        continue;
      }
      todo.push(imp.path);
    }
  }
  return { external, bundled };
}

describe('CLI start-up loads only what the command needs', () => {
  it('--version and --help load nothing from node_modules (commander is bundled)', async () => {
    for (const args of [['--version'], ['--help'], ['secrets', 'list', '--help']]) {
      const r = await loadedPackages(args);
      expect(r.status, args.join(' ')).toBe(0);
      expect([...r.packages], args.join(' ')).toEqual([]);
    }
  });

  it('--help still lists every command group, and a group its options', async () => {
    const top = await hangar(['--help']);
    for (const group of ['server', 'auth', 'tokens', 'apps', 'secrets', 'audit', 'dockerfile', 'build']) {
      expect(top.stdout).toMatch(new RegExp(`^  ${group}\\b`, 'm'));
    }
    const list = await hangar(['secrets', 'list', '--help']);
    expect(list.stdout).toMatch(/-a, --app <name>/);
    expect(list.stdout).toMatch(/--json/);
    const server = await hangar(['server', '--help']);
    expect(server.stdout).toMatch(/--listen <addr> +address to listen on \(default: 127\.0\.0\.1:4280\)/);
  });

  it('dockerfile outline runs the frontend without the server stack', async () => {
    const r = await loadedPackages(['dockerfile', 'outline', '-f', 'examples/build-secrets/Dockerfile']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Target: /);
    expect([...r.packages]).toEqual([]);
  });

  it('a command that needs the server stack still loads it', async () => {
    // rotate-master-key opens the store; an empty data dir makes it stop at the master key.
    const data = mkdtempSync(join(dir, 'data-'));
    const r = await loadedPackages(['server', 'rotate-master-key', '--data-dir', data]);
    expect(r.packages.has('kysely')).toBe(true);
  });

  it('hangar build reaches the builder without the server, store, API or protobuf packages', async () => {
    const graph = moduleGraph();
    const cli = staticClosure(graph, 'src/cli/main.ts');
    expect([...cli.external]).toEqual([]);
    expect([...cli.bundled].sort()).toEqual(['commander']);
    const toBuild = graph['src/cli/build.ts']!.imports.find((i) => i.path === 'src/build/local-build.ts');
    expect(toBuild?.kind, 'the build command loads its work on use').toBe('dynamic-import');
    const build = staticClosure(graph, 'src/build/local-build.ts');
    for (const heavy of HEAVY) expect([...build.external], heavy).not.toContain(heavy);
    expect([...build.bundled]).toEqual([]);

    // And at run time: a build that gets as far as dialling a builder that is not there.
    const ctx = mkdtempSync(join(dir, 'ctx-'));
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN true\n');
    const r = await loadedPackages(['build', ctx], { DOCKER_HOST: `unix://${join(dir, 'no-engine.sock')}`, HANGAR_BUILDER: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no-engine\.sock/);
    expect(r.files.some((f) => f.endsWith('/bin/hangar.cjs')), 'the recorder saw the entry').toBe(true);
    expect([...r.packages]).toEqual([]);
  });
});
