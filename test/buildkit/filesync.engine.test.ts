// FileSync against the real engine: what BuildKit receives from a context
// (.dockerignore, symlinks, modes, owners, mtimes), a 200 MB file with the
// client's memory measured in a child process, a 20,000-file tree (its
// contents sent while it is listed), and a second identical sync that sends
// no contents.
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, createReadStream, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBuilder, readDockerignore, type BuildKitClient } from '../../src/buildkit/index.js';
import { exec, image, local } from '../../src/llb/graph.js';
import { marshalDefinition } from '../../src/llb/definition.js';
import { platform, runChildBuild } from './helpers.js';

let client: BuildKitClient;
let scratch: string;
beforeAll(async () => {
  client = await connectBuilder(undefined, process.env);
  scratch = mkdtempSync(path.join(tmpdir(), 'hangar-filesync-'));
});
afterAll(() => {
  client?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Runs `script` in busybox with the directory mounted at /ctx; returns its output, bytes synced and the sync's trace line. */
async function syncAndRun(dir: string, script: string): Promise<{ output: string; bytesSynced: number; synced: string }> {
  let output = '';
  let synced = '';
  const res = await client.build({
    frontend: async (gw) => {
      const ctx = local('context', { sessionId: gw.sessionId, sharedKeyHint: 'context' });
      const root = exec(image('busybox'), {
        args: ['/bin/sh', '-c', script],
        env: ['PATH=/bin'],
        cwd: '/ctx',
        mounts: [{ type: 'bind', dest: '/ctx', source: ctx, readonly: true }],
        network: 'host',
      }, { ignoreCache: true }).root;
      return { ref: await gw.solve(marshalDefinition(root, { platform })) };
    },
    localDirs: { context: { dir, excludePatterns: await readDockerignore(dir) } },
    entitlements: ['network.host'],
    onProgress: (e) => {
      for (const l of e.logs) output += l.data.toString();
    },
    onTrace: (e) => {
      if (e.startsWith('synced context:')) synced = e;
    },
  });
  return { output, bytesSynced: res.bytesSynced, synced };
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

describe('FileSync on the Docker Engine', () => {
  it('sends a context the way .dockerignore and the file system say', async () => {
    const dir = path.join(scratch, 'ctx');
    mkdirSync(path.join(dir, 'src/lib'), { recursive: true });
    mkdirSync(path.join(dir, 'node_modules/pkg'), { recursive: true });
    mkdirSync(path.join(dir, 'logs'), { recursive: true });
    mkdirSync(path.join(dir, 'empty'), { recursive: true });
    writeFileSync(path.join(dir, 'app.js'), 'console.log(1)\n');
    writeFileSync(path.join(dir, 'src/lib/util.js'), 'export {}\n');
    writeFileSync(path.join(dir, 'src/run.sh'), '#!/bin/sh\n');
    chmodSync(path.join(dir, 'src/run.sh'), 0o750);
    writeFileSync(path.join(dir, 'node_modules/pkg/index.js'), 'junk\n');
    writeFileSync(path.join(dir, 'logs/a.log'), 'a\n');
    writeFileSync(path.join(dir, 'logs/keep.log'), 'keep\n');
    writeFileSync(path.join(dir, 'src/lib/debug.log'), 'deep\n');
    writeFileSync(path.join(dir, '.env'), 'TOKEN=do-not-send\n');
    writeFileSync(path.join(dir, 'owned'), 'x\n');
    chownSync(path.join(dir, 'owned'), 1234, 5678);
    symlinkSync('app.js', path.join(dir, 'link-rel'));
    symlinkSync('/nonexistent/target', path.join(dir, 'link-abs'));
    utimesSync(path.join(dir, 'app.js'), 1_600_000_000, 1_600_000_000);
    writeFileSync(path.join(dir, '.dockerignore'), '# comment\nnode_modules\n**/*.log\n!logs/keep.log\n.env\n');

    const { output } = await syncAndRun(
      dir,
      'find . | sort; echo ---; stat -c "%n %a %u:%g" src/run.sh owned; stat -c "%Y" app.js; readlink link-rel link-abs 2>/dev/null || { readlink link-rel; readlink link-abs; }',
    );
    const [listing, details] = output.split('---\n') as [string, string];
    expect(listing.trim().split('\n')).toEqual([
      '.',
      './.dockerignore',
      './app.js',
      './empty',
      './link-abs',
      './link-rel',
      './logs',
      './logs/keep.log',
      './owned',
      './src',
      './src/lib',
      './src/lib/util.js',
      './src/run.sh',
    ]);
    expect(details).toContain('src/run.sh 750 0:0');
    expect(details).toContain('owned 644 1234:5678');
    expect(details).toContain('1600000000');
    expect(details).toContain('app.js\n/nonexistent/target');
    expect(output).not.toContain('do-not-send');
  });

  it('streams a 200 MB file with flat client memory, then resyncs nothing', async () => {
    const dir = path.join(scratch, 'big');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'big.bin');
    // Each MiB differs, so a dropped or reordered chunk changes the checksum.
    const fd = openSync(file, 'w');
    const block = Buffer.alloc(1 << 20);
    for (let i = 0; i < 200; i++) {
      block.fill(i & 0xff);
      block.writeUInt32BE(i, 0);
      block.writeUInt32BE(i * 2654435761 >>> 0, (1 << 19) + 3);
      writeSync(fd, block);
    }
    closeSync(fd);
    const expected = await sha256File(file);

    const first = await (await runChildBuild({ mode: 'sync', dir, script: 'sha256sum big.bin' })).done;
    expect(first.ok, first.error).toBe(true);
    expect(first.output).toContain(`${expected}  big.bin`);
    expect(first.bytesSynced, 'the first sync sends the whole file').toBe(200 * (1 << 20));
    // Peak resident memory of the whole client process.
    console.log(`filesync 200 MB: client peak RSS ${Math.round(first.maxRssKiB / 1024)} MB`);
    expect(first.maxRssKiB, 'client peak RSS (KiB)').toBeLessThan(150 * 1024);

    const second = await (await runChildBuild({ mode: 'sync', dir, script: 'sha256sum big.bin' })).done;
    expect(second.ok, second.error).toBe(true);
    expect(second.output).toContain(`${expected}  big.bin`);
    expect(second.bytesSynced, 'a second identical sync sends no contents').toBe(0);
  });

  it('sends a 20,000-file tree with contents flowing while it is listed, and a second identical sync transfers no contents', async () => {
    const dir = path.join(scratch, 'tree');
    const h = createHash('sha256');
    const names: string[] = [];
    for (let d = 0; d < 100; d++) {
      const sub = `d${String(d).padStart(3, '0')}`;
      mkdirSync(path.join(dir, sub), { recursive: true });
      for (let f = 0; f < 200; f++) names.push(`${sub}/f${String(f).padStart(3, '0')}`);
    }
    names.sort();
    for (const name of names) {
      const body = `${name}\n`;
      writeFileSync(path.join(dir, name), body);
      h.update(body);
    }
    const script = 'find . -type f | wc -l; find . -type f | sort | xargs cat | sha256sum';
    const first = await syncAndRun(dir, script);
    expect(first.output).toContain('20000\n');
    expect(first.output).toContain(h.digest('hex'));
    expect(first.bytesSynced).toBeGreaterThan(0);
    // The listing is paced behind the engine's requests (a local builder):
    // nearly every file goes out before it ends (19,737 of 20,000 here).
    // Listed as fast as the stream takes it, the engine creates files far
    // ahead of taking their contents (5,919 sent by the listing's end).
    const sentWhileListing = Number(/\((\d+) files sent by then\)/.exec(first.synced)?.[1]);
    expect(sentWhileListing, first.synced).toBeGreaterThan(15_000);
    const second = await syncAndRun(dir, script);
    expect(second.output).toContain('20000\n');
    expect(second.bytesSynced, 'a second identical sync sends no contents').toBe(0);
    expect(second.synced).toMatch(/\(0 files sent by then\), 0 files/);
  });
});
