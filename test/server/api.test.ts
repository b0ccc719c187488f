// The HTTP API over real HTTP against a real `hangar server` process with a
// temporary data dir: auth, scopes, apps, secrets, bad input, audit, OpenAPI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../platform/server-process.js';
import { b64, call } from '../platform/http.js';

let server: ServerProcess;
let admin: string;
const api = (method: string, path: string, opts: Parameters<typeof call>[3] = {}) =>
  call(server.url, method, path, { token: admin, ...opts });

async function secretNames(app: string): Promise<string[]> {
  const r = await api('GET', `/v1/apps/${app}/secrets`);
  expect(r.status).toBe(200);
  return r.json.secrets.map((s: { Name: string }) => s.Name);
}

beforeAll(async () => {
  server = await startServerProcess();
  admin = server.token;
  expect(admin).toMatch(/^hgr_/);
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

describe('hangar server API', () => {
  it('serves health without a token and the OpenAPI document of its routes', async () => {
    expect((await call(server.url, 'GET', '/v1/health')).json).toEqual({ status: 'ok' });
    const doc = (await call(server.url, 'GET', '/v1/openapi.json')).json;
    expect(doc.openapi).toBe('3.1.0');
    for (const p of ['/v1/apps', '/v1/apps/{app}', '/v1/apps/{app}/secrets', '/v1/apps/{app}/secrets/unset', '/v1/apps/{app}/secrets/deploy', '/v1/tokens', '/v1/tokens/{id}', '/v1/whoami', '/v1/audit']) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    expect(JSON.stringify(doc.paths['/v1/apps/{app}/secrets'].post)).toContain('value_base64');
    // Values are write-only: no response of any route has a field that could carry one.
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, { responses: unknown }>>)) {
      for (const [method, op] of Object.entries(methods)) {
        expect(JSON.stringify(op.responses), `${method} ${path}`).not.toMatch(/value/i);
      }
    }
  });

  it('answers 401 without a token and the same 401 for unknown and wrong tokens', async () => {
    const none = await call(server.url, 'GET', '/v1/apps');
    expect(none.status).toBe(401);
    expect(none.json).toEqual({ error: { code: 'unauthenticated', message: expect.stringMatching(/no API token given/) } });
    const unknown = await call(server.url, 'GET', '/v1/apps', { token: 'hgr_unknownunknownunknown' });
    const wrong = await call(server.url, 'GET', '/v1/apps', { token: admin.slice(0, -2) + (admin.endsWith('xx') ? 'yy' : 'xx') });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(wrong.text).toBe(unknown.text);
    expect(wrong.json.error.message).not.toContain('hgr_');
  });

  it('creates, lists and destroys apps, refusing bad and duplicate names', async () => {
    expect((await api('POST', '/v1/apps', { body: { name: 'web' } })).status).toBe(201);
    const dup = await api('POST', '/v1/apps', { body: { name: 'web' } });
    expect(dup.status).toBe(409);
    expect(dup.json.error.message).toBe('app web already exists; pick another name.');
    for (const name of ['', 'a', 'Web', '1web', 'web_app', 'x'.repeat(64)]) {
      const r = await api('POST', '/v1/apps', { body: { name } });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('invalid_request');
    }
    expect((await api('GET', '/v1/apps')).json.apps.map((a: { name: string }) => a.name)).toContain('web');
    expect((await api('POST', '/v1/apps', { body: { name: 'gone' } })).status).toBe(201);
    await api('POST', '/v1/apps/gone/secrets', { body: { secrets: [{ name: 'A', value_base64: b64('1') }] } });
    expect((await api('DELETE', '/v1/apps/gone')).status).toBe(200);
    expect((await api('GET', '/v1/apps/gone/secrets')).status).toBe(404);
    expect((await api('DELETE', '/v1/apps/gone')).status).toBe(404);
  });

  it('sets, lists, stages, deploys and unsets secrets without ever returning a value', async () => {
    await api('POST', '/v1/apps', { body: { name: 'shop' } });
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x0a]);
    const set = await api('POST', '/v1/apps/shop/secrets', {
      body: { secrets: [{ name: 'DATABASE_URL', value_base64: b64('postgres://u:pw-4471@db/x') }, { name: 'BLOB', value_base64: b64(binary) }] },
    });
    expect(set.status).toBe(200);
    expect(set.text).not.toContain('pw-4471');
    expect(set.text).not.toContain(b64('postgres://u:pw-4471@db/x'));
    const list = await api('GET', '/v1/apps/shop/secrets');
    expect(list.json.secrets).toEqual([
      { Name: 'BLOB', Digest: expect.stringMatching(/^[0-9a-f]{64}$/), CreatedAt: expect.any(String), UpdatedAt: expect.any(String), Status: 'Deployed' },
      { Name: 'DATABASE_URL', Digest: expect.stringMatching(/^[0-9a-f]{64}$/), CreatedAt: expect.any(String), UpdatedAt: expect.any(String), Status: 'Deployed' },
    ]);
    expect(list.text).not.toContain('pw-4471');

    // A conditional request is answered from the cached listing.
    const etag = list.headers.get('etag')!;
    expect((await api('GET', '/v1/apps/shop/secrets', { headers: { 'if-none-match': etag } })).status).toBe(304);

    await api('POST', '/v1/apps/shop/secrets', { body: { secrets: [{ name: 'NEW', value_base64: b64('n') }], stage: true } });
    const staged = await api('GET', '/v1/apps/shop/secrets');
    expect(staged.headers.get('etag')).not.toBe(etag);
    expect(staged.json.secrets.find((s: { Name: string }) => s.Name === 'NEW').Status).toBe('Staged');
    expect((await api('POST', '/v1/apps/shop/secrets/deploy')).json).toEqual({ changed: 1 });
    expect((await api('GET', '/v1/apps/shop/secrets')).json.secrets.every((s: { Status: string }) => s.Status === 'Deployed')).toBe(true);

    expect((await api('POST', '/v1/apps/shop/secrets/unset', { body: { names: ['NEW', 'BLOB'] } })).status).toBe(200);
    expect(await secretNames('shop')).toEqual(['DATABASE_URL']);
  });

  it('refuses bad input with one clear 4xx sentence and changes nothing', async () => {
    await api('POST', '/v1/apps', { body: { name: 'strict' } });
    await api('POST', '/v1/apps/strict/secrets', { body: { secrets: [{ name: 'KEEP', value_base64: b64('k') }] } });
    const before = (await api('GET', '/v1/apps/strict/secrets')).text;
    const ok = { name: 'OK', value_base64: b64('fine') };
    const cases: [string, Parameters<typeof call>[3], number, RegExp][] = [
      ['invalid name', { body: { secrets: [ok, { name: 'bad-name', value_base64: b64('x') }] } }, 400, /secret name "bad-name" is invalid/],
      ['empty name', { body: { secrets: [ok, { name: '', value_base64: b64('x') }] } }, 400, /a secret name is empty/],
      ['name twice', { body: { secrets: [ok, { ...ok }] } }, 400, /secret OK is given twice/],
      ['value over 500 KiB', { body: { secrets: [ok, { name: 'BIG', value_base64: b64(Buffer.alloc(500 * 1024 + 1)) }] } }, 400, /value of BIG is .*over the 500 KiB/],
      ['bad base64', { body: { secrets: [ok, { name: 'B', value_base64: 'not base64!' }] } }, 400, /value_base64 of B is not valid base64/],
      ['no secrets', { body: { secrets: [] } }, 400, /field secrets is invalid/],
      ['missing field', { body: { secrets: [{ name: 'X' }] } }, 400, /field secrets.0.value_base64 is invalid/],
      ['unknown field', { body: { secrets: [ok], stage: false, deploy: true } }, 400, /the request is invalid \(Unrecognized key: "deploy"\)/],
      ['value instead of value_base64', { body: { secrets: [{ name: 'V', value: 'fine' }] } }, 400, /field secrets.0/],
      ['malformed JSON', { rawBody: '{"secrets": [' }, 400, /not valid JSON/],
      ['wrong content type', { rawBody: 'OK=fine', contentType: 'text/plain' }, 415, /must be JSON; send it with Content-Type: application\/json/],
      ['oversized body', { rawBody: `{"secrets":[{"name":"A","value_base64":"${'A'.repeat(17 * 1024 * 1024)}"}]}` }, 413, /over 16 MiB/],
    ];
    for (const [what, opts, status, message] of cases) {
      const r = await api('POST', '/v1/apps/strict/secrets', opts);
      expect(r.status, what).toBe(status);
      expect(r.json.error.message, what).toMatch(message);
      expect(r.json.error.message.split('; ').length, what).toBeLessThanOrEqual(2);
      expect(r.text, what).not.toContain(b64('fine'));
    }
    const unknownApp = await api('POST', '/v1/apps/nope/secrets', { body: { secrets: [ok] } });
    expect(unknownApp.status).toBe(404);
    expect(unknownApp.json.error.message).toBe('app "nope" does not exist; run `hangar apps list` to see the apps.');
    const unsetMissing = await api('POST', '/v1/apps/strict/secrets/unset', { body: { names: ['KEEP', 'MISSING'] } });
    expect(unsetMissing.status).toBe(404);
    expect((await api('GET', '/v1/apps/strict/secrets')).text).toBe(before);
    // Exactly 500 KiB of arbitrary bytes is accepted.
    expect((await api('POST', '/v1/apps/strict/secrets', { body: { secrets: [{ name: 'MAX', value_base64: b64(Buffer.alloc(500 * 1024, 0xab)) }] } })).status).toBe(200);
    expect((await api('GET', '/v1/nothing-here')).status).toBe(404);
  });

  it('enforces scopes and app limits: read cannot write, an app token cannot touch another app', async () => {
    await api('POST', '/v1/apps', { body: { name: 'mine' } });
    await api('POST', '/v1/apps', { body: { name: 'theirs' } });
    await api('POST', '/v1/apps/theirs/secrets', { body: { secrets: [{ name: 'T', value_base64: b64('t') }] } });
    const mk = async (scope: string, app?: string) => (await api('POST', '/v1/tokens', { body: { scope, ...(app ? { app } : {}) } })).json.token as string;
    const read = await mk('read');
    const deployMine = await mk('deploy', 'mine');
    const readMine = await mk('read', 'mine');
    const set = (token: string, app: string) =>
      call(server.url, 'POST', `/v1/apps/${app}/secrets`, { token, body: { secrets: [{ name: 'X', value_base64: b64('x') }] } });

    expect((await call(server.url, 'GET', '/v1/apps/theirs/secrets', { token: read })).status).toBe(200);
    const readWrite = await set(read, 'theirs');
    expect(readWrite.status).toBe(403);
    expect(readWrite.json.error.message).toBe('this token has scope read and this needs deploy; use a token with that scope.');
    expect((await set(readMine, 'mine')).status).toBe(403);

    expect((await set(deployMine, 'mine')).status).toBe(200);
    const cross = await set(deployMine, 'theirs');
    expect(cross.status).toBe(403);
    expect(cross.json.error.message).toBe('this token is limited to app mine; use a token for app theirs.');
    expect((await call(server.url, 'GET', '/v1/apps/theirs/secrets', { token: deployMine })).status).toBe(403);
    // Not even the existence of another app leaks.
    expect((await call(server.url, 'GET', '/v1/apps/no-such-app/secrets', { token: deployMine })).status).toBe(403);
    expect((await call(server.url, 'GET', '/v1/apps', { token: deployMine })).json.apps.map((a: { name: string }) => a.name)).toEqual(['mine']);
    expect((await call(server.url, 'POST', '/v1/apps', { token: deployMine, body: { name: 'more' } })).status).toBe(403);
    expect((await call(server.url, 'POST', '/v1/tokens', { token: deployMine, body: { scope: 'admin' } })).status).toBe(403);
    expect((await call(server.url, 'DELETE', '/v1/apps/theirs', { token: deployMine })).status).toBe(403);
    expect(await secretNames('theirs')).toEqual(['T']);
  });

  it('creates, lists and revokes tokens; a revoked or expired token is refused', async () => {
    const created = await api('POST', '/v1/tokens', { body: { scope: 'read', expiry: '24h' } });
    expect(created.status).toBe(201);
    expect(created.json.info).toMatchObject({ scope: 'read', app: null, last_used_at: null });
    const token = created.json.token as string;
    expect(Date.parse(created.json.info.expires_at) - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
    const who = await call(server.url, 'GET', '/v1/whoami', { token });
    expect(who.json).toEqual({ token_id: created.json.info.id, scope: 'read', app: null, expires_at: created.json.info.expires_at });
    const listed = await api('GET', '/v1/tokens');
    expect(listed.text).not.toContain(token);
    const mine = listed.json.tokens.find((t: { id: string }) => t.id === created.json.info.id);
    expect(mine.last_used_at).not.toBeNull();
    expect((await api('DELETE', `/v1/tokens/${created.json.info.id}`)).status).toBe(200);
    expect((await call(server.url, 'GET', '/v1/whoami', { token })).status).toBe(401);
    expect((await api('DELETE', `/v1/tokens/${created.json.info.id}`)).status).toBe(404);
    const badExpiry = await api('POST', '/v1/tokens', { body: { scope: 'read', expiry: 'soon' } });
    expect(badExpiry.status).toBe(400);
    expect(badExpiry.json.error.message).toMatch(/expiry "soon" is invalid; give a number and a unit/);
    expect((await api('POST', '/v1/tokens', { body: { scope: 'root' } })).status).toBe(400);
  });

  it('records every mutation in the audit trail with token, action, name and digest', async () => {
    await api('POST', '/v1/apps', { body: { name: 'audited' } });
    const set = await api('POST', '/v1/apps/audited/secrets', { body: { secrets: [{ name: 'S', value_base64: b64('audit-value-93') }] } });
    await api('POST', '/v1/apps/audited/secrets/unset', { body: { names: ['S'] } });
    const who = (await api('GET', '/v1/whoami')).json.token_id;
    const audit = await api('GET', '/v1/audit?app=audited');
    expect(audit.json.entries.map((e: { action: string; name: string | null }) => [e.action, e.name])).toEqual([
      ['apps.create', null],
      ['secrets.set', 'S'],
      ['secrets.unset', 'S'],
    ]);
    expect(audit.json.entries.every((e: { token_id: string }) => e.token_id === who)).toBe(true);
    expect(audit.json.entries[1].digest).toBe(set.json.secrets[0].Digest);
    expect(audit.text).not.toContain('audit-value-93');
  });
});

describe('failed authentication is rate-limited per address', () => {
  it('answers 429 with Retry-After once the limit is reached, even for a valid token', async () => {
    const limited = await startServerProcess({ env: { HANGAR_AUTH_FAILURES_PER_MINUTE: '3' } });
    try {
      for (let i = 0; i < 3; i++) expect((await call(limited.url, 'GET', '/v1/apps', { token: `hgr_guess${i}` })).status).toBe(401);
      const blocked = await call(limited.url, 'GET', '/v1/apps', { token: 'hgr_guess4' });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(blocked.json.error.message).toMatch(/too many failed authentication attempts from this address; try again in \d+ seconds/);
      expect((await call(limited.url, 'GET', '/v1/apps', { token: limited.token })).status).toBe(429);
      expect((await call(limited.url, 'GET', '/v1/health')).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});
