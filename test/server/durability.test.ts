// Guarantee 3: an acknowledged write survives kill -9 of the server. A stream
// of `secrets set` calls runs, the server is killed with SIGKILL mid-stream,
// restarted on the same data dir, and every acknowledged secret is there with
// the digest the API acknowledged.
import { describe, expect, it } from 'vitest';
import { b64, call } from '../platform/http.js';
import { startServerProcess } from '../platform/server-process.js';

describe('durability under kill -9', () => {
  it('keeps every acknowledged secrets set after SIGKILL and restart', async () => {
    const first = await startServerProcess();
    const token = first.token;
    expect((await call(first.url, 'POST', '/v1/apps', { token, body: { name: 'durable' } })).status).toBe(201);
    const acknowledged = new Map<string, string>();
    let stop = false;
    // Four writers in parallel so that the kill lands while commits are in flight.
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const name = `W${w}_${i}`;
        try {
          const r = await call(first.url, 'POST', '/v1/apps/durable/secrets', { token, body: { secrets: [{ name, value_base64: b64(`value-${w}-${i}`) }] } });
          if (r.status === 200) acknowledged.set(name, r.json.secrets[0].Digest);
        } catch {
          return; // The server died under this request: it was never acknowledged.
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    while (acknowledged.size < 150) await new Promise((r) => setImmediate(r));
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    expect(first.child.signalCode ?? (await new Promise((r) => first.child.once('exit', (_c, s) => r(s))))).toBe('SIGKILL');

    const second = await startServerProcess({ dataDir: first.dataDir, configHome: first.configHome });
    try {
      // A restart does not mint another admin token: the first one still works.
      expect(second.token).toBe('');
      const list = await call(second.url, 'GET', '/v1/apps/durable/secrets', { token });
      expect(list.status).toBe(200);
      const stored = new Map<string, string>(list.json.secrets.map((s: { Name: string; Digest: string }) => [s.Name, s.Digest]));
      const lost = [...acknowledged.keys()].filter((n) => stored.get(n) !== acknowledged.get(n));
      expect(lost).toEqual([]);
      expect(stored.size).toBeGreaterThanOrEqual(acknowledged.size);
    } finally {
      await second.stop();
    }
  });
});
