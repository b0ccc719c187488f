// The build session over time: a build longer than the engine's health-check
// cadence keeps its session (a secret and a context file are fetched after
// 10 s), and SIGINT mid-build cancels the solve on the engine, leaving no
// step running.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBuilder, SecretStore, type BuildKitClient } from '../../src/buildkit/index.js';
import { exec, image, local } from '../../src/llb/graph.js';
import { marshalDefinition } from '../../src/llb/definition.js';
import { platform, processesMatching, runChildBuild } from './helpers.js';

let client: BuildKitClient;
let scratch: string;
beforeAll(async () => {
  client = await connectBuilder(undefined, process.env);
  scratch = mkdtempSync(path.join(tmpdir(), 'hangar-session-'));
});
afterAll(() => {
  client?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return check();
}

describe('build session on the Docker Engine', () => {
  it('keeps the session through a build longer than 10 s', async () => {
    writeFileSync(path.join(scratch, 'late.txt'), 'read-after-sleep\n');
    const secrets = new SecretStore();
    secrets.set('late', 'late-secret-value');
    const marker = randomBytes(6).toString('hex');
    let output = '';
    const started = Date.now();
    const result = await client.build({
      frontend: async (gw) => {
        const slept = exec(image('busybox'), { args: ['/bin/sh', '-c', `sleep 11; echo slept-${marker} > /slept`], env: ['PATH=/bin'], network: 'host' }, { ignoreCache: true }).root;
        // Depends on the sleep, so its secret and context are asked for only after it.
        const ctx = local('context', { sessionId: gw.sessionId, sharedKeyHint: `late-${marker}` });
        const after = exec(slept, {
          args: ['/bin/sh', '-c', 'cat /slept; wc -c < /run/secrets/late; cat /ctx/late.txt'],
          env: ['PATH=/bin'],
          mounts: [
            { type: 'secret', dest: '/run/secrets/late', id: 'late' },
            { type: 'bind', dest: '/ctx', source: ctx, readonly: true },
          ],
          network: 'host',
        }, { ignoreCache: true }).root;
        return { ref: await gw.solve(marshalDefinition(after, { platform })) };
      },
      secrets,
      localDirs: { context: scratch },
      entitlements: ['network.host'],
      onProgress: (e) => {
        for (const l of e.logs) output += l.data.toString();
      },
    });
    expect(output).toContain(`slept-${marker}`);
    expect(output).toContain('17\n');
    expect(output).toContain('read-after-sleep');
    expect(result.secretFetches).toHaveLength(1);
    expect(result.secretFetches[0]!.time.getTime() - started).toBeGreaterThan(10_000);
  }, 120_000);

  it('cancels the solve on SIGINT and leaves no step running', async () => {
    const marker = randomBytes(6).toString('hex');
    const run = await runChildBuild({ mode: 'sleep', marker, seconds: 300 });
    await run.started;
    // The step's shell runs on this kernel; its command line names the marker.
    expect(processesMatching(`started-${marker}`).length).toBeGreaterThan(0);
    run.interrupt();
    const result = await run.done;
    expect(result.ok).toBe(false);
    expect(result.name).toBe('BuildCancelledError');
    expect(await waitFor(() => processesMatching(`started-${marker}`).length === 0, 20_000)).toBe(true);
    const busy = async (): Promise<boolean> => (await client.diskUsage()).some((r) => r.inUse && r.description.includes(marker));
    expect(await waitFor(async () => !(await busy()), 20_000)).toBe(true);
  }, 120_000);
});
