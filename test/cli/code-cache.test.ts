// bin/hangar.cjs runs the CLI with a V8 code cache per command in
// $XDG_CACHE_HOME/hangar/code-cache: written after a command first runs, used
// after that, and never trusted when it could have come from someone else.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hangar } from '../support/cli.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-code-cache-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function freshCacheHome(): { home: string; cacheDir: string } {
  const home = mkdtempSync(join(dir, 'xdg-'));
  return { home, cacheDir: join(home, 'hangar', 'code-cache') };
}

async function version(home: string): Promise<{ stdout: string; trace: string[] }> {
  const r = await hangar(['--version'], { env: { XDG_CACHE_HOME: home, HANGAR_DEBUG: '1' } });
  expect(r.status).toBe(0);
  const trace = r.stderr.split('\n').map((l) => l.replace(/^hangar: debug: \d+ ms \(cpu \d+ ms\) /, '')).filter((l) => l.startsWith('code cache '));
  return { stdout: r.stdout, trace };
}

function onlyFile(cacheDir: string): string {
  const files = readdirSync(cacheDir);
  expect(files).toHaveLength(1);
  return join(cacheDir, files[0]!);
}

describe('the CLI code cache', () => {
  it('is written on the first run of a command, private to the user, and used after', async () => {
    const { home, cacheDir } = freshCacheHome();
    const first = await version(home);
    expect(first.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(first.trace[0]).toMatch(/^code cache missing: /);
    expect(first.trace[1]).toBe('code cache written');
    const file = onlyFile(cacheDir);
    expect(file).toMatch(/\.other\.bin$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);

    const second = await version(home);
    expect(second.stdout).toBe(first.stdout);
    expect(second.trace).toEqual([`code cache used: ${file}`]);

    // Each command has its own.
    const outline = await hangar(['dockerfile', 'outline', '-f', 'examples/build-secrets/Dockerfile'], { env: { XDG_CACHE_HOME: home } });
    expect(outline.status).toBe(0);
    expect(readdirSync(cacheDir).sort().map((f) => f.replace(/^.*\.(\w+)\.bin$/, '$1'))).toEqual(['dockerfile', 'other']);
  });

  it('names a cache after a command only when it is one of the CLI\'s commands, never after other words', async () => {
    const help = await hangar(['--help']);
    const commands = [...help.stdout.slice(help.stdout.indexOf('Commands:')).matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThanOrEqual(8);
    const { home, cacheDir } = freshCacheHome();
    for (const command of commands) expect((await hangar([command, '--help'], { env: { XDG_CACHE_HOME: home } })).status, command).toBe(0);
    const word = `hunter-two-${process.pid}`;
    expect((await hangar([word], { env: { XDG_CACHE_HOME: home } })).status).not.toBe(0);
    const named = readdirSync(cacheDir).map((f) => f.replace(/^.*\.([a-z-]+)\.bin$/, '$1'));
    expect(named.sort()).toEqual([...commands, 'other'].sort());
  });

  it('a damaged cache is refused by V8 and replaced; the command still runs', async () => {
    const { home, cacheDir } = freshCacheHome();
    const expected = (await version(home)).stdout;
    const file = onlyFile(cacheDir);
    writeFileSync(file, Buffer.alloc(4096, 0x5a), { mode: 0o600 });
    const damaged = await version(home);
    expect(damaged.stdout).toBe(expected);
    expect(damaged.trace).toEqual([`code cache refused by V8: ${file}`, 'code cache written']);
    expect((await version(home)).trace).toEqual([`code cache used: ${file}`]);
  });

  it('a cache others could have written, or a symbolic link, is not loaded', async () => {
    const { home, cacheDir } = freshCacheHome();
    const expected = (await version(home)).stdout;
    const file = onlyFile(cacheDir);

    chmodSync(file, 0o666);
    const open = await version(home);
    expect(open.stdout).toBe(expected);
    expect(open.trace[0]).toBe(`code cache not used (writable by other users): ${file}`);
    expect(statSync(file).mode & 0o777, 'replaced by a private one').toBe(0o600);

    const elsewhere = join(dir, 'elsewhere.bin');
    writeFileSync(elsewhere, readFileSync(file), { mode: 0o600 });
    rmSync(file);
    symlinkSync(elsewhere, file);
    const linked = await version(home);
    expect(linked.stdout).toBe(expected);
    expect(linked.trace[0]).toBe(`code cache not used (a symbolic link): ${file}`);
  });

  it('a cache directory that cannot be made costs nothing but the cache', async () => {
    const blocked = join(dir, 'not-a-directory');
    writeFileSync(blocked, 'a file where the cache directory would go\n');
    const r = await version(blocked);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(r.trace[0]).toMatch(/^code cache missing: /);
    expect(r.trace[1]).toBe('code cache not written');
  });

  it('holds no secret a command read', async () => {
    const { home, cacheDir } = freshCacheHome();
    const value = `code-cache-secret-${process.pid}-${Date.now()}`;
    const ctx = mkdtempSync(join(dir, 'ctx-'));
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN --mount=type=secret,id=TOKEN true\n');
    writeFileSync(join(ctx, 'token'), value);
    // Gets as far as dialling a builder that is not there, with the secret loaded.
    const r = await hangar(['build', '--secret', `id=TOKEN,src=${join(ctx, 'token')}`, ctx], {
      env: { XDG_CACHE_HOME: home, DOCKER_HOST: `unix://${join(dir, 'no-engine.sock')}`, HANGAR_BUILDER: '' },
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no-engine\.sock/);
    const bytes = readFileSync(onlyFile(cacheDir));
    expect(bytes.length).toBeGreaterThan(10_000);
    for (const form of [value, Buffer.from(value).toString('base64'), Buffer.from(value, 'utf16le').toString('latin1')]) {
      expect(bytes.includes(Buffer.from(form, 'latin1')), form).toBe(false);
    }
  });
});
