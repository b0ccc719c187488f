// The differential harness: each case under test/fixtures/build/<case> is built
// by the engine's own frontend (`DOCKER_BUILDKIT=1 /usr/bin/docker build`) and
// by `hangar build`; the two images are read back and compared field by field.
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ImageDescription } from '../../../src/build/image-inspect.js';
import { ROOT, HANGAR_BIN } from '../../support/cli.js';

export const FIXTURES = join(ROOT, 'test/fixtures/build');
export const DOCKER = '/usr/bin/docker';
const run = promisify(execFile);

export interface BuildCase {
  name: string;
  dir: string;
  buildArgs: Record<string, string>;
  target?: string;
  /** Secret id → value; written to a temporary file and passed as `--secret id=X,src=FILE`. */
  secrets: Record<string, string>;
  /** Other cases built first by the engine's frontend and tagged, for use as a base image. */
  bases: Record<string, string>;
  /** A subdirectory served over HTTP on loopback while the case builds; its URL is the build arg SERVER. */
  serve?: string;
}

export function listCases(): BuildCase[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(FIXTURES, d.name, 'Dockerfile')))
    .map((d) => {
      const dir = join(FIXTURES, d.name);
      const metaPath = join(dir, 'case.json');
      const meta = existsSync(metaPath)
        ? (JSON.parse(readFileSync(metaPath, 'utf8')) as Partial<BuildCase>)
        : {};
      return {
        name: d.name,
        dir,
        buildArgs: meta.buildArgs ?? {},
        target: meta.target,
        secrets: meta.secrets ?? {},
        bases: meta.bases ?? {},
        ...(meta.serve ? { serve: meta.serve } : {}),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export interface BuildOutcome {
  status: number | null;
  output: string;
  seconds: number;
}

function spawnBuild(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<BuildOutcome> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => out.push(d));
    child.on('error', reject);
    child.on('close', (status) =>
      resolve({ status, output: Buffer.concat(out).toString('utf8'), seconds: Number(process.hrtime.bigint() - started) / 1e9 }),
    );
  });
}

// Secret files live outside the context so that `COPY . .` cannot pick them up.
function secretArgs(c: BuildCase): { args: string[]; cleanup(): void } {
  const ids = Object.keys(c.secrets);
  if (ids.length === 0) return { args: [], cleanup: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'hangar-diff-secret-'));
  const args: string[] = [];
  for (const id of ids) {
    const file = join(dir, id);
    writeFileSync(file, c.secrets[id]!, { mode: 0o600 });
    args.push('--secret', `id=${id},src=${file}`);
  }
  return { args, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function commonArgs(c: BuildCase, tag: string): string[] {
  const args = ['-t', tag];
  for (const [k, v] of Object.entries(c.buildArgs)) args.push('--build-arg', `${k}=${v}`);
  if (c.target) args.push('--target', c.target);
  return args;
}

export async function dockerBuild(c: BuildCase, tag: string, extra: string[] = []): Promise<BuildOutcome> {
  const s = secretArgs(c);
  try {
    return await spawnBuild(
      DOCKER,
      ['build', '--network=host', '--progress=plain', ...commonArgs(c, tag), ...s.args, ...extra, c.dir],
      { ...process.env, DOCKER_BUILDKIT: '1' },
    );
  } finally {
    s.cleanup();
  }
}

export async function hangarBuild(c: BuildCase, tag: string, extra: string[] = []): Promise<BuildOutcome> {
  const s = secretArgs(c);
  try {
    return await spawnBuild(
      HANGAR_BIN,
      ['build', '--progress=plain', ...commonArgs(c, tag), ...s.args, ...extra, c.dir],
      { ...process.env, NO_COLOR: '1' },
    );
  } finally {
    s.cleanup();
  }
}

/**
 * Serves the files under `dir` on 127.0.0.1 (a random port) for `ADD URL`
 * cases: the engine fetches them itself, over loopback. Fixed Last-Modified
 * and ETag, so both builders see the same responses.
 */
export async function serveDirectory(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    const path = join(dir, rel);
    if (rel.includes('..') || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    const body = readFileSync(path);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, 'Last-Modified': 'Wed, 01 Jan 2025 00:00:00 GMT', ETag: `"${body.length}-${rel}"` });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export async function removeImages(tags: string[]): Promise<void> {
  if (tags.length === 0) return;
  await run(DOCKER, ['image', 'rm', '-f', ...tags]).catch(() => undefined);
}

/** Every difference between two image descriptions, as readable lines; empty when equal. */
export function compareImages(expected: ImageDescription, actual: ImageDescription): string[] {
  const diffs: string[] = [];
  const cfgKeys = Object.keys(expected.config) as (keyof ImageDescription['config'])[];
  for (const k of cfgKeys) {
    const a = JSON.stringify(expected.config[k]);
    const b = JSON.stringify(actual.config[k]);
    if (a !== b) diffs.push(`config ${k}: docker ${a}, hangar ${b}`);
  }
  const exp = new Map(expected.files.map((f) => [f.path, f]));
  const act = new Map(actual.files.map((f) => [f.path, f]));
  for (const [p, f] of exp) {
    const g = act.get(p);
    if (!g) {
      diffs.push(`missing in hangar: ${p} (${f.type})`);
      continue;
    }
    for (const field of ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'linkname'] as const) {
      if (f[field] !== g[field]) {
        const show = (v: unknown) => (field === 'mode' && typeof v === 'number' ? v.toString(8) : String(v));
        diffs.push(`${p}: ${field} docker ${show(f[field])}, hangar ${show(g[field])}`);
      }
    }
  }
  for (const p of act.keys()) if (!exp.has(p)) diffs.push(`extra in hangar: ${p} (${act.get(p)!.type})`);
  return diffs;
}
