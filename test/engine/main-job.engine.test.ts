// The README's first command, end to end: setup, `hangar server` on a fresh
// data dir, and the build-secrets walk-through, which itself fails if a secret
// value is found in the built image. Stops the server it started.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

const home = mkdtempSync(join(tmpdir(), 'hangar-main-job-'));
const port = 4300 + Math.floor(Math.random() * 600);
const app = `mainjob${port}`;
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  // The two images the walk-through built.
  spawnSync('/usr/bin/docker', ['image', 'rm', `hangar-demo/${app}`, `hangar-demo/${app}-builder`], { stdio: 'ignore' });
});

function runMainJob(env: NodeJS.ProcessEnv): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['scripts/start.sh'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, out }));
  });
}

describe('scripts/start.sh (the main job)', () => {
  it('starts the platform and walks through the build-secrets workflow without leaking a value', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_DATA_HOME: join(home, 'data'),
      XDG_STATE_HOME: join(home, 'state'),
      HANGAR_API_URL: `http://127.0.0.1:${port}`,
      HANGAR_DEMO_ONLY: '1',
      HANGAR_DEMO_APP: app,
    };
    delete env.HANGAR_API_TOKEN;
    const { status, out } = await runMainJob(env);
    expect(status, out).toBe(0);
    expect(out).toMatch(/Admin token \(shown once/);
    expect(out).toMatch(/step 1 read a 28-byte token/);
    expect(out).toMatch(/no secret value in any layer, the config or the history/);
    expect(out).toMatch(/needs secret "MY_SUPER_SECRET" \(required=true\)/);
    expect(out).not.toMatch(/LEAK/);

    // The structured server log never holds the admin token.
    const token = /Admin token[^:]*: (\S+)/.exec(out)?.[1] ?? '';
    expect(token).toMatch(/^hgr_/);
    const log = readFileSync(join(home, 'state', 'hangar', 'server.log'), 'utf8');
    expect(log).not.toContain(token);
    // The CLI config holding the token is private to the user.
    expect(statSync(join(home, 'config', 'hangar', 'config.json')).mode & 0o077).toBe(0);
    // The data dir has the master key, private too.
    expect(readdirSync(join(home, 'data', 'hangar'))).toContain('master.key');
    expect(statSync(join(home, 'data', 'hangar', 'master.key')).mode & 0o077).toBe(0);
  }, 600_000);
});
