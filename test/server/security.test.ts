// Secrets are the product: after real traffic through the API and the CLI, the
// database file, its WAL, the server log and CLI output hold none of the
// secret values or tokens used, in any common encoding; log lines are
// structured and carry no bodies or Authorization headers.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hangar } from '../support/cli.js';
import { b64, call } from '../platform/http.js';
import { startServerProcess, type ServerProcess } from '../platform/server-process.js';

const VALUES = [
  'sk_live_51HqLyjWDarjtT1zdp7dcsecretvalue',
  'multi\nline\nvalue-with-ümlaut-and-☃',
  'hunter2-low-entropy',
];
const BINARY = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x13, 0x37, 0x42, 0x99, 0x01, 0x02]);
const CLI_VALUE = 'cli-stdin-value-8c1e5f0a';
const IMPORTED = 'imported-dotenv-value-41d7';

function encodings(v: Buffer): Buffer[] {
  const forms = [v, Buffer.from(v.toString('base64')), Buffer.from(v.toString('hex')), Buffer.from(encodeURIComponent(v.toString('latin1')))];
  return forms.filter((f) => f.length >= 8);
}

function leaks(haystack: Buffer, needles: Buffer[]): string[] {
  return needles.filter((n) => haystack.includes(n)).map((n) => n.toString('latin1').slice(0, 12));
}

let server: ServerProcess;
const outputs: string[] = [];
const tokens: string[] = [];

beforeAll(async () => {
  server = await startServerProcess();
  tokens.push(server.token);
  const admin = server.token;
  await call(server.url, 'POST', '/v1/apps', { token: admin, body: { name: 'vaulted' } });
  const r = await call(server.url, 'POST', '/v1/apps/vaulted/secrets', {
    token: admin,
    body: { secrets: [...VALUES.map((v, i) => ({ name: `S${i}`, value_base64: b64(v) })), { name: 'BIN', value_base64: b64(BINARY) }] },
  });
  expect(r.status).toBe(200);
  outputs.push(r.text);
  // A value re-set under staging, and a failing request carrying a value, must not leak either.
  outputs.push((await call(server.url, 'POST', '/v1/apps/vaulted/secrets', { token: admin, body: { secrets: [{ name: 'S0', value_base64: b64(VALUES[0]!) }], stage: true } })).text);
  outputs.push((await call(server.url, 'POST', '/v1/apps/vaulted/secrets', { token: admin, body: { secrets: [{ name: 'bad-name', value_base64: b64(VALUES[2]!) }] } })).text);
  outputs.push((await call(server.url, 'POST', '/v1/apps/vaulted/secrets', { token: admin, rawBody: `{"secrets":[{"name":"X","value_base64":"${VALUES[0]}"}]}` })).text);
  // Malformed JSON around a value: parsers like to quote the text they choke on.
  outputs.push((await call(server.url, 'POST', '/v1/apps/vaulted/secrets', { token: admin, rawBody: `{"secrets":[{"name":"X","value_base64":${b64(VALUES[0]!)}}` })).text);
  outputs.push((await call(server.url, 'POST', '/v1/apps/vaulted/secrets', { token: admin, rawBody: VALUES[0]! })).text);
  const extra = await call(server.url, 'POST', '/v1/tokens', { token: admin, body: { scope: 'deploy', app: 'vaulted' } });
  tokens.push(extra.json.token);
  const env = { HANGAR_API_URL: server.url, HANGAR_API_TOKEN: extra.json.token, XDG_CONFIG_HOME: server.configHome, HANGAR_APP: 'vaulted' };
  const set = await hangar(['secrets', 'set', 'FROM_CLI=-'], { env, input: CLI_VALUE });
  expect(set.status).toBe(0);
  const imp = await hangar(['secrets', 'import'], { env, input: `IMPORTED="${IMPORTED}"\n` });
  expect(imp.status).toBe(0);
  for (const res of [set, imp, await hangar(['secrets', 'list', '--json'], { env }), await hangar(['audit', '--json'], { env })]) {
    outputs.push(res.stdout, res.stderr);
  }
  outputs.push((await call(server.url, 'GET', '/v1/audit', { token: admin })).text);
  // Unknown tokens in the Authorization header must not reach the log either.
  tokens.push('hgr_attacker_guess_0123456789abcdef');
  await call(server.url, 'GET', '/v1/apps', { token: tokens[tokens.length - 1]! });
});

afterAll(async () => {
  await server.stop();
});

function needles(): Buffer[] {
  const values = [...VALUES.map((v) => Buffer.from(v, 'utf8')), BINARY, Buffer.from(CLI_VALUE), Buffer.from(IMPORTED)];
  return [...values.flatMap(encodings), ...tokens.map((t) => Buffer.from(t)), ...tokens.map((t) => Buffer.from(t.slice(4)))];
}

describe('no secret value or token at rest or in logs', () => {
  it('is absent from the SQLite database, its WAL and every file in the data dir while running', () => {
    const files = readdirSync(server.dataDir).map((f) => join(server.dataDir, f));
    expect(files.some((f) => f.endsWith('hangar.db-wal'))).toBe(true);
    for (const f of files) expect(leaks(readFileSync(f), needles()), f).toEqual([]);
  });

  it('is absent from API responses and CLI output', () => {
    for (const out of outputs) expect(leaks(Buffer.from(out), needles())).toEqual([]);
  });

  it('is absent from the server log, whose lines are JSON with request id, method, route, status and duration', () => {
    const log = server.log();
    expect(leaks(Buffer.from(log), needles())).toEqual([]);
    expect(log.toLowerCase()).not.toContain('authorization');
    expect(log).not.toContain('bearer');
    const lines = log.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = lines.filter((l) => l.msg === 'request');
    expect(requests.length).toBeGreaterThan(8);
    for (const r of requests) {
      expect(Object.keys(r)).toEqual(expect.arrayContaining(['time', 'request_id', 'method', 'route', 'status', 'duration_ms']));
    }
    expect(requests.map((r) => r.route)).toContain('/v1/apps/:app/secrets');
  });

  it('is absent from the data dir after a clean shutdown checkpoints the WAL', async () => {
    expect(await server.stop()).toBe(0);
    for (const f of readdirSync(server.dataDir)) {
      const path = join(server.dataDir, f);
      expect(leaks(readFileSync(path), needles()), path).toEqual([]);
    }
    expect(existsSync(join(server.dataDir, 'server.pid'))).toBe(false);
  });
});
