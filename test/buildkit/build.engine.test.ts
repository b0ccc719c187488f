// Drives the real engine's BuildKit: workers, cache records, secret mounts
// served by the session, the gateway path with Hangar's image config, and
// the redaction of secret values from RUN output.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { BuildFailedError, connectBuilder, SecretStore, type BuildKitClient, type ProgressEvent } from '../../src/buildkit/index.js';
import { exec, image, local, type ExecMount } from '../../src/llb/graph.js';
import { marshalDefinition } from '../../src/llb/definition.js';
import { platform } from './helpers.js';

const docker = (...args: string[]): string => execFileSync('/usr/bin/docker', args, { encoding: 'utf8', maxBuffer: 1 << 28 });

let client: BuildKitClient;
beforeAll(async () => {
  client = await connectBuilder(undefined, process.env);
});
afterAll(() => client?.close());

function runOnBusybox(script: string, mounts: ExecMount[] = []) {
  return exec(image('busybox'), { args: ['/bin/sh', '-c', script], env: ['PATH=/bin'], mounts, network: 'host' }, { customName: 'test step', ignoreCache: true }).root;
}

function collect(): { events: ProgressEvent[]; text: () => string } {
  const events: ProgressEvent[] = [];
  return { events, text: () => events.flatMap((e) => e.logs.map((l) => l.data.toString())).join('') };
}

describe('BuildKit on the Docker Engine', () => {
  it('lists the engine worker', async () => {
    const workers = await client.listWorkers();
    expect(workers.length).toBeGreaterThan(0);
    expect(workers[0]!.platforms.some((p) => p.os === 'linux')).toBe(true);
  });

  it('reports disk usage and prunes only what the filter names', async () => {
    const marker = `prune-${randomBytes(6).toString('hex')}`;
    // A cache mount leaves a record of its own that nothing else shares.
    await client.build({
      definition: marshalDefinition(runOnBusybox(`echo ${marker} > /cache/m`, [{ type: 'cache', dest: '/cache', id: marker }]), { platform }),
      entitlements: ['network.host'],
    });
    const before = await client.diskUsage();
    const mine = before.filter((r) => r.description.includes(marker));
    expect(mine.length).toBeGreaterThan(0);
    expect(before.every((r) => Number.isFinite(r.size))).toBe(true);
    // The solve releases its records a moment after it returns; prune until they are gone.
    const pruned: string[] = [];
    const deadline = Date.now() + 20_000;
    let left = mine.map((r) => r.id);
    while (left.length > 0 && Date.now() < deadline) {
      for (const id of left) pruned.push(...(await client.prune({ all: true, filters: [`id==${id}`] })).map((p) => p.id));
      const now = new Set((await client.diskUsage()).map((r) => r.id));
      left = left.filter((id) => now.has(id));
      if (left.length > 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(left).toEqual([]);
    // Only what the filter named was pruned. The engine's own cache GC runs
    // after large builds and may take these unreferenced records first.
    expect(pruned.every((id) => mine.some((r) => r.id === id))).toBe(true);
    if (pruned.length === 0) console.log('prune: the builder GC removed the records before the prune call');
    const after = await client.diskUsage();
    expect(after.some((r) => r.description.includes(marker))).toBe(false);
    // Records other builds use are still there.
    expect(after.length).toBeGreaterThan(0);
  });

  it('serves a secret mount, records the fetch by digest, redacts the value and leaves no trace in the image', async () => {
    const value = `s3cr3t-${randomBytes(12).toString('hex')}`;
    const secrets = new SecretStore();
    secrets.set('token', value);
    const progress = collect();
    const name = `hangar-test-secret-${randomBytes(4).toString('hex')}:latest`;
    const result = await client.build({
      frontend: async (gw) => {
        const { config } = await gw.resolveImageConfig('docker.io/library/busybox:latest');
        const root = runOnBusybox('wc -c < /run/secrets/token; cat /run/secrets/token; echo; cat /run/secrets/token | base64', [
          { type: 'secret', dest: '/run/secrets/token', id: 'token' },
        ]);
        const ref = await gw.solve(marshalDefinition(root, { platform }));
        const passwd = await gw.readFile(ref, '/etc/passwd');
        expect(passwd.toString()).toContain('root:');
        return { ref, imageConfig: { ...config, config: { ...(config.config ?? {}), Env: ['PATH=/bin', 'HANGAR=1'], Labels: { 'dev.hangar.test': 'yes' } } } };
      },
      exporter: { type: 'moby', name },
      secrets,
      entitlements: ['network.host'],
      onProgress: (e) => progress.events.push(e),
    });
    try {
      const out = progress.text();
      expect(out).toContain(`${value.length}\n`);
      expect(out).not.toContain(value);
      expect(out).not.toContain(Buffer.from(value).toString('base64').slice(0, 20));
      expect(out).toContain('****');
      expect(result.secretFetches).toEqual([
        expect.objectContaining({ id: 'token', found: true, digest: `sha256:${createHash('sha256').update(value).digest('hex')}` }),
      ]);
      expect(JSON.stringify(result)).not.toContain(value);
      // Wiped when the build ended.
      expect(secrets.wiped).toBe(true);
      expect(secrets.values()).toEqual([]);
      const inspect = JSON.parse(docker('image', 'inspect', name))[0];
      expect(inspect.Config.Env).toContain('HANGAR=1');
      expect(inspect.Config.Labels['dev.hangar.test']).toBe('yes');
      expect(docker('history', '--no-trunc', name)).not.toContain(value);
      const saved = execFileSync('/usr/bin/docker', ['save', name], { maxBuffer: 1 << 28 });
      expect(saved.includes(Buffer.from(value))).toBe(false);
    } finally {
      docker('image', 'rm', '-f', name);
    }
  });

  it('runs with an optional secret that was not given', async () => {
    const progress = collect();
    await client.build({
      definition: marshalDefinition(
        runOnBusybox('test ! -s /run/secrets/absent && echo absent-ok', [{ type: 'secret', dest: '/run/secrets/absent', id: 'absent', optional: true }]),
        { platform },
      ),
      secrets: new SecretStore(),
      entitlements: ['network.host'],
      onProgress: (e) => progress.events.push(e),
    });
    expect(progress.text()).toContain('absent-ok');
  });

  it('fails a required secret that was not given with an error naming its id', async () => {
    const secrets = new SecretStore();
    secrets.set('other', 'x-value-x');
    const err = await client
      .build({
        definition: marshalDefinition(runOnBusybox('cat /run/secrets/deploy_key', [{ type: 'secret', dest: '/run/secrets/deploy_key', id: 'deploy_key' }]), { platform }),
        secrets,
        entitlements: ['network.host'],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildFailedError);
    expect((err as Error).message).toMatch(/deploy_key/);
    expect((err as Error).message).not.toContain('x-value-x');
  });

  it('reports a failing step as a BuildFailedError without secret values', async () => {
    const secrets = new SecretStore();
    secrets.set('token', 'leaky-value-123');
    const err = await client
      .build({
        definition: marshalDefinition(runOnBusybox('cat /run/secrets/token >&2; exit 3', [{ type: 'secret', dest: '/run/secrets/token', id: 'token' }]), { platform }),
        secrets,
        entitlements: ['network.host'],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildFailedError);
    expect((err as Error).message).toMatch(/exit code: 3/);
    expect((err as Error).message).not.toContain('leaky-value-123');
  });

  it("does not solve again after a step fails, even one whose command names the builder's own race", async () => {
    const retries: string[] = [];
    const err = await client
      .build({
        definition: marshalDefinition(runOnBusybox('echo "x]: flightcontrol: exceeded retry timeout"; exit 4'), { platform }),
        entitlements: ['network.host'],
        onRetry: (why) => retries.push(why),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildFailedError);
    expect((err as Error).message).toMatch(/flightcontrol: exceeded retry timeout.*exit code: 4$/);
    expect(retries).toEqual([]);
  });

  it('ends the solve with the frontend error when the frontend throws', async () => {
    const secrets = new SecretStore();
    secrets.set('token', 'frontend-error-value');
    const err = await client
      .build({
        frontend: async (gw) => {
          await gw.resolveImageConfig('docker.io/library/busybox:latest');
          throw new UserError('the Dockerfile has no FROM line; start it with FROM <image>.');
        },
        exporter: { type: 'moby', name: 'hangar-test-never:latest' },
        secrets,
        entitlements: ['network.host'],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe('the Dockerfile has no FROM line; start it with FROM <image>.');
    expect(secrets.wiped).toBe(true);
    expect(docker('images', '-q', 'hangar-test-never:latest').trim()).toBe('');
  });

  it('runs a session over a Control/Session stream, the way buildkitd takes it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hangar-ctlsession-'));
    const streamed = await connectBuilder(undefined, process.env, {}, { sessionTransport: 'control-stream' });
    try {
      writeFileSync(path.join(dir, 'in.txt'), 'from-the-context\n');
      writeFileSync(path.join(dir, 'ignored.txt'), 'nope\n');
      writeFileSync(path.join(dir, '.dockerignore'), 'ignored.txt\n');
      const secrets = new SecretStore();
      secrets.set('token', 'tunnelled-secret');
      const progress = collect();
      const result = await streamed.build({
        frontend: async (gw) => {
          const ctx = local('context', { sessionId: gw.sessionId });
          const root = runOnBusybox('cat /ctx/in.txt; ls /ctx; wc -c < /run/secrets/token', [
            { type: 'secret', dest: '/run/secrets/token', id: 'token' },
            { type: 'bind', dest: '/ctx', source: ctx, readonly: true },
          ]);
          return { ref: await gw.solve(marshalDefinition(root, { platform })) };
        },
        secrets,
        localDirs: { context: { dir, dockerignore: true } },
        entitlements: ['network.host'],
        onProgress: (e) => progress.events.push(e),
      });
      expect(progress.text()).toContain('from-the-context');
      expect(progress.text()).not.toContain('ignored.txt');
      expect(progress.text()).toContain('16\n');
      expect(result.secretFetches.map((f) => f.id)).toEqual(['token']);
    } finally {
      streamed.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('streams a tar export back over the session into a file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hangar-tar-'));
    try {
      const dest = path.join(dir, 'out.tar');
      const root = exec(image('busybox'), { args: ['/bin/sh', '-c', 'mkdir -p /out && echo exported > /out/hello.txt'], env: ['PATH=/bin'], network: 'host' }).root;
      await client.build({ definition: marshalDefinition(root, { platform }), exporter: { type: 'tar', dest }, entitlements: ['network.host'] });
      const listing = execFileSync('tar', ['-tf', dest], { encoding: 'utf8' });
      expect(listing).toContain('out/hello.txt');
      expect(execFileSync('tar', ['-xOf', dest, 'out/hello.txt'], { encoding: 'utf8' })).toBe('exported\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a step that fails inside a gateway solve as a BuildFailedError, after its output', async () => {
    const logs: string[] = [];
    const err = await client
      .build({
        frontend: async (gw) => ({ ref: await gw.solve(marshalDefinition(runOnBusybox('echo failing-step; exit 7'), { platform })) }),
        exporter: { type: 'moby', name: 'hangar-test-never:latest' },
        entitlements: ['network.host'],
        onProgress: (e) => logs.push(...e.logs.map((l) => Buffer.from(l.data).toString())),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildFailedError);
    expect((err as Error).message).toMatch(/^the build failed: .*exit code: 7/);
    // The step's output is read before the failure is reported (progress is read a few messages at a time).
    expect(logs.join('')).toContain('failing-step');
  });

  it("redacts secret values from a frontend's own error", async () => {
    const secrets = new SecretStore();
    secrets.set('token', 'value-in-an-error');
    const err = await client
      .build({
        frontend: async () => {
          throw new UserError('the build argument TOKEN=value-in-an-error looks like a secret; pass it with --secret instead.');
        },
        secrets,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe('the build argument TOKEN=**** looks like a secret; pass it with --secret instead.');
  });
});
