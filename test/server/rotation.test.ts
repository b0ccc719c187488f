// `hangar server rotate-master-key`: app keys are rewrapped, values and
// digests survive; it refuses to run beside a live server or with an env key;
// an interrupted rotation is recovered at start; a wrong key stops the start.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hangar } from '../support/cli.js';
import { b64, call } from '../platform/http.js';
import { startServerProcess } from '../platform/server-process.js';

describe('master key rotation', () => {
  it('rewraps app keys so that values and digests survive, and guards its preconditions', async () => {
    const first = await startServerProcess();
    const token = first.token;
    await call(first.url, 'POST', '/v1/apps', { token, body: { name: 'rot' } });
    const set = await call(first.url, 'POST', '/v1/apps/rot/secrets', { token, body: { secrets: [{ name: 'A', value_base64: b64('rotate-me') }] } });
    const digest = set.json.secrets[0].Digest as string;

    const busy = await hangar(['server', 'rotate-master-key', '--data-dir', first.dataDir]);
    expect(busy.status).toBe(1);
    expect(busy.stderr).toMatch(/^hangar: a hangar server \(pid \d+\) is running on .*; stop it before rotating the master key\.\n$/);
    expect(await first.stop()).toBe(0);

    const keyPath = join(first.dataDir, 'master.key');
    const before = readFileSync(keyPath);
    const envKey = await hangar(['server', 'rotate-master-key', '--data-dir', first.dataDir], { env: { HANGAR_MASTER_KEY: before.toString('hex') } });
    expect(envKey.status).toBe(1);
    expect(envKey.stderr).toMatch(/^hangar: the master key comes from HANGAR_MASTER_KEY/);

    const rotated = await hangar(['server', 'rotate-master-key', '--data-dir', first.dataDir], { env: { HANGAR_MASTER_KEY: '' } });
    expect(rotated.stderr).toBe('');
    expect(rotated.stdout).toBe('Rotated the master key; rewrapped the keys of 1 app.\n');
    const after = readFileSync(keyPath);
    expect(after.equals(before)).toBe(false);
    expect(after.length).toBe(32);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);

    // An interrupted rotation leaves master.key.next behind; start-up discards one the database never adopted.
    writeFileSync(join(first.dataDir, 'master.key.next'), randomBytes(32), { mode: 0o600 });
    const second = await startServerProcess({ dataDir: first.dataDir, configHome: first.configHome });
    try {
      const list = await call(second.url, 'GET', '/v1/apps/rot/secrets', { token });
      expect(list.json.secrets[0].Digest).toBe(digest);
      // The digest key survived the rewrap: the same value gives the same digest.
      const again = await call(second.url, 'POST', '/v1/apps/rot/secrets', { token, body: { secrets: [{ name: 'B', value_base64: b64('rotate-me') }] } });
      expect(again.json.secrets[0].Digest).toBe(digest);
    } finally {
      await second.stop();
    }
    expect(readFileSync(keyPath).equals(after)).toBe(true);

    // The old key no longer opens this database: the server refuses to start rather than misbehave.
    const wrong = await hangar(['server', '--data-dir', first.dataDir, '--listen', '127.0.0.1:0'], {
      env: { HANGAR_MASTER_KEY: before.toString('hex'), XDG_CONFIG_HOME: first.configHome },
    });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/hangar: the master key does not match this database/);

    // A lost master.key is reported, never silently replaced by a new one.
    rmSync(keyPath);
    const lost = await hangar(['server', '--data-dir', first.dataDir, '--listen', '127.0.0.1:0'], { env: { XDG_CONFIG_HOME: first.configHome } });
    expect(lost.status).toBe(1);
    expect(lost.stderr).toMatch(/^hangar: the master key .*master\.key is missing and this database's keys are wrapped with it; restore it from your backup or set HANGAR_MASTER_KEY\.\n$/);
    expect(existsSync(keyPath)).toBe(false);
  });

  it('refuses a malformed HANGAR_MASTER_KEY and a bad --listen with one sentence', async () => {
    const bad = await hangar(['server', '--data-dir', join(first_tmp(), 'd'), '--listen', '127.0.0.1:0'], { env: { HANGAR_MASTER_KEY: 'short' } });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/HANGAR_MASTER_KEY is not a 32-byte key; give 64 hex digits or the base64 of 32 random bytes\.\n$/);
    const listen = await hangar(['server', '--data-dir', join(first_tmp(), 'd'), '--listen', 'nowhere']);
    expect(listen.status).toBe(1);
    expect(listen.stderr).toBe('hangar: listen address "nowhere" is invalid; give HOST:PORT, such as 127.0.0.1:4280 or [::1]:4280.\n');
  });
});

function first_tmp(): string {
  return join(process.env.TMPDIR ?? '/tmp', `hangar-rot-${randomBytes(4).toString('hex')}`);
}
