// `hangar server --database postgres://...`: the same API on PostgreSQL, and
// the data outlives a restart. Runs when HANGAR_TEST_POSTGRES_URL is set.
import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { b64, call } from '../platform/http.js';
import { startServerProcess } from '../platform/server-process.js';
import { storeBackends } from '../store/backends.js';

const pgBackend = storeBackends().find((b) => b.name === 'postgres');

describe.skipIf(!pgBackend)('hangar server on PostgreSQL', () => {
  afterAll(() => pgBackend?.cleanup());

  it('serves apps and secrets from PostgreSQL across a restart', async () => {
    const location = await pgBackend!.fresh();
    const url = location.dialect === 'postgres' ? location.url : '';
    const first = await startServerProcess({ args: ['--database', url] });
    const token = first.token;
    // Nothing went to SQLite: the data dir holds only the key and the pid file.
    expect(readdirSync(first.dataDir).sort()).toEqual(['master.key', 'server.pid']);
    await call(first.url, 'POST', '/v1/apps', { token, body: { name: 'pg-app' } });
    const set = await call(first.url, 'POST', '/v1/apps/pg-app/secrets', { token, body: { secrets: [{ name: 'P', value_base64: b64(Buffer.from([0, 1, 255])) }] } });
    expect(set.status).toBe(200);
    const bad = await call(first.url, 'POST', '/v1/apps/pg-app/secrets', { token, body: { secrets: [{ name: 'Q', value_base64: b64('q') }, { name: 'Q', value_base64: b64('q') }] } });
    expect(bad.status).toBe(400);
    expect(await first.stop()).toBe(0);
    const second = await startServerProcess({ dataDir: first.dataDir, configHome: first.configHome, args: ['--database', url] });
    try {
      const list = await call(second.url, 'GET', '/v1/apps/pg-app/secrets', { token });
      expect(list.json.secrets.map((s: { Name: string; Digest: string }) => [s.Name, s.Digest])).toEqual([['P', set.json.secrets[0].Digest]]);
    } finally {
      await second.stop();
    }
  });

  it('names a database it cannot use in one sentence', async () => {
    await expect(startServerProcess({ args: ['--database', 'postgres://postgres@127.0.0.1:2/none'] })).rejects.toThrow(
      /cannot use the PostgreSQL database .*check the --database URL and that the server is running/,
    );
  });
});
