// Start-up cost of the CLI: commands load only what they use. Runs the built
// ./bin/hangar with a module hook that records every module Node resolves,
// and reads dist/'s static import graph for what `hangar build` loads before
// it talks to the builder.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hangar, ROOT } from '../support/cli.js';

// Packages only the server, store and API need.
const HEAVY = ['zod', '@hono/zod-openapi', '@hono/node-server', 'hono', 'kysely', 'better-sqlite3', 'pg', 'smol-toml'];

function packageOf(url: string): string | undefined {
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  return m?.[1];
}

let dir: string;
let register: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-startup-'));
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    [
      "import { appendFileSync } from 'node:fs';",
      'export async function resolve(specifier, context, next) {',
      '  const r = await next(specifier, context);',
      "  appendFileSync(process.env.HANGAR_TEST_MODULE_LOG, r.url + '\\n');",
      '  return r;',
      '}',
    ].join('\n'),
  );
  register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function loadedPackages(args: string[]): Promise<{ status: number | null; stdout: string; packages: Set<string> }> {
  const log = join(dir, `log-${args.join('-').replace(/[^A-Za-z0-9-]/g, '_')}`);
  writeFileSync(log, '');
  const r = await hangar(args, {
    env: { NODE_OPTIONS: `--import=${pathToFileURL(register).href}`, HANGAR_TEST_MODULE_LOG: log },
  });
  const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const packages = new Set(urls.map(packageOf).filter((p): p is string => p !== undefined));
  return { status: r.status, stdout: r.stdout, packages };
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

  it('hangar build reaches the builder without the server, store, API or protobuf packages', () => {
    const dist = join(ROOT, 'dist');
    const importsOf = (file: string) => {
      const text = readFileSync(join(dist, file), 'utf8');
      const statics = [...text.matchAll(/(?:^|\n)(?:import|export)\s[^;]*?from\s*"([^"]+)"|(?:^|\n)import\s*"([^"]+)"/g)].map((m) => (m[1] ?? m[2])!);
      const dynamics = [...text.matchAll(/import\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1]!);
      return { statics, dynamics };
    };
    // Everything a module loads before its own code runs: its static imports, transitively.
    const seen = new Set<string>();
    const externalsBeforeRun = (entry: string) => {
      const external = new Set<string>();
      const todo = [entry];
      while (todo.length > 0) {
        const f = todo.pop()!;
        if (seen.has(f)) continue;
        seen.add(f);
        for (const s of importsOf(f).statics) {
          if (s.startsWith('.')) todo.push(posix.join(posix.dirname(f), s));
          else if (!isBuiltin(s)) external.add(s);
        }
      }
      return external;
    };
    expect([...externalsBeforeRun('hangar.js')]).toEqual([]);
    const buildChunk = importsOf('hangar.js').dynamics.find((d) => /\/local-build-[A-Za-z0-9]+\.js$/.test(d));
    expect(buildChunk, 'the build command loads its work as a chunk').toBeDefined();
    expect(existsSync(join(dist, buildChunk!))).toBe(true);
    const loaded = [...externalsBeforeRun(posix.normalize(buildChunk!))].map((s) => s.replace(/^((?:@[^/]+\/)?[^/]+).*$/, '$1'));
    for (const heavy of HEAVY) expect(loaded, heavy).not.toContain(heavy);
    // Bundled packages show as esbuild's "// node_modules/<package>/..." markers.
    const bundled = new Set([...seen].flatMap((f) => [...readFileSync(join(dist, f), 'utf8').matchAll(/^\/\/ node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)].map((m) => m[1]!)));
    expect([...bundled].sort()).toEqual(['commander']);
  });
});
