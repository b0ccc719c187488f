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

describe('graceful shutdown', () => {
  it('finishes an in-flight write, then exits 0 on SIGINT even with idle keep-alive connections', async () => {
    const server = await startServerProcess();
    const token = server.token;
    await call(server.url, 'POST', '/v1/apps', { token, body: { name: 'bye' } });
    // A large atomic write is in flight when the signal arrives.
    const secrets = Array.from({ length: 1000 }, (_, i) => ({ name: `N${i}`, value_base64: b64(`v${i}`) }));
    const inflight = call(server.url, 'POST', '/v1/apps/bye/secrets', { token, body: { secrets } });
    await new Promise((r) => setTimeout(r, 20));
    const code = server.stop('SIGINT');
    const res = await inflight.catch(() => undefined);
    expect(await code).toBe(0);
    expect(server.log()).toContain('"msg":"stopped"');
    // Either the write completed before the listener closed, or it never started: never half-applied.
    const again = await startServerProcess({ dataDir: server.dataDir, configHome: server.configHome });
    try {
      const names = (await call(again.url, 'GET', '/v1/apps/bye/secrets', { token })).json.secrets.length;
      if (res?.status === 200) expect(names).toBe(1000);
      else expect([0, 1000]).toContain(names);
    } finally {
      await again.stop();
    }
  });
});
