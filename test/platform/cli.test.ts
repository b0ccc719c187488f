// The platform commands as a user runs them: ./bin/hangar against a real
// server process, with the CLI config in a temporary XDG_CONFIG_HOME.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hangar } from '../support/cli.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

let server: ServerProcess;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  server = await startServerProcess();
  // The CLI finds URL and token in the config that the first start wrote.
  env = { XDG_CONFIG_HOME: server.configHome, HANGAR_API_URL: '', HANGAR_API_TOKEN: '', HANGAR_APP: '' };
});

afterAll(async () => {
  await server.stop();
});

const oneLineError = (stderr: string) => {
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^hangar: /);
};

describe('first start and auth', () => {
  it('saved the admin token to the CLI config with mode 0600 and prints it with `auth token`', async () => {
    const path = join(server.configHome, 'hangar', 'config.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ api_url: server.url, token: server.token });
    expect(server.stdout()).toContain(`Admin token (shown once; keep it safe): ${server.token}`);
    const r = await hangar(['auth', 'token'], { env });
    expect(r.stdout).toBe(`${server.token}\n`);
    const who = await hangar(['auth', 'whoami', '--json'], { env });
    expect(JSON.parse(who.stdout)).toMatchObject({ scope: 'admin', app: null, api_url: server.url });
  });

  it('logs in with a token from stdin, logs out, and refuses a bad token without saving it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'hangar-login-'));
    const e = { XDG_CONFIG_HOME: home, HANGAR_API_URL: '', HANGAR_API_TOKEN: '' };
    const bad = await hangar(['auth', 'login', '--api-url', server.url, '--token', 'hgr_nope'], { env: e });
    expect(bad.status).toBe(1);
    oneLineError(bad.stderr);
    expect(bad.stderr).toMatch(/the API token is invalid, expired or revoked/);
    const ok = await hangar(['auth', 'login', '--api-url', server.url], { env: e, input: `${server.token}\n` });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^Logged in to http:\/\/127\.0\.0\.1:\d+ as token tok_[0-9a-f]+ \(scope admin\)/);
    expect(ok.stdout).not.toContain(server.token);
    expect(statSync(join(home, 'hangar', 'config.json')).mode & 0o777).toBe(0o600);
    expect((await hangar(['auth', 'token'], { env: e })).stdout.trim()).toBe(server.token);
    expect((await hangar(['auth', 'logout'], { env: e })).status).toBe(0);
    const after = await hangar(['auth', 'token'], { env: e });
    expect(after.status).toBe(1);
    expect(after.stderr).toBe('hangar: no API token; run `hangar auth login` or set HANGAR_API_TOKEN.\n');
  });

  it('says how to reach the API when nothing listens', async () => {
    const r = await hangar(['apps', 'list'], { env: { ...env, HANGAR_API_URL: 'http://127.0.0.1:2', HANGAR_API_TOKEN: 'hgr_x' } });
    expect(r.status).toBe(1);
    oneLineError(r.stderr);
    expect(r.stderr).toMatch(/cannot reach the Hangar API at http:\/\/127\.0\.0\.1:2\b.*; start it with `hangar server` or set HANGAR_API_URL/);
  });
});

describe('apps and secrets from the CLI', () => {
  it('creates and lists apps, and asks for --yes before destroying one', async () => {
    expect((await hangar(['apps', 'create', 'cli-app'], { env })).stdout).toBe('Created app cli-app.\n');
    const bad = await hangar(['apps', 'create', 'Bad_App'], { env });
    expect(bad.status).toBe(1);
    oneLineError(bad.stderr);
    const list = JSON.parse((await hangar(['apps', 'list', '--json'], { env })).stdout);
    expect(list.map((a: { name: string }) => a.name)).toContain('cli-app');
    const table = (await hangar(['apps', 'list'], { env })).stdout;
    expect(table).toMatch(/^NAME\s+CREATED AT\n/);
    const noYes = await hangar(['apps', 'destroy', 'cli-app'], { env });
    expect(noYes.status).toBe(1);
    expect(noYes.stderr).toBe('hangar: destroying app cli-app deletes its secrets for good; pass --yes to confirm.\n');
    expect((await hangar(['apps', 'create', 'short-lived'], { env })).status).toBe(0);
    expect((await hangar(['apps', 'destroy', 'short-lived', '--yes'], { env })).stdout).toBe('Destroyed app short-lived.\n');
  });

  it('sets secrets from argv and, byte for byte, from stdin; lists names and digests only', async () => {
    const binary = Buffer.from([0x00, 0xff, 0x0a, 0xc3, 0x28, 0x0d, 0x0a]);
    const set = await hangar(['secrets', 'set', '-a', 'cli-app', 'PLAIN=plain-value-1', 'BIN=-', 'SAME=plain-value-1'], { env, input: binary });
    expect(set.status).toBe(0);
    expect(set.stdout).toBe('Set 3 secrets on app cli-app: PLAIN, BIN, SAME.\n');
    const json = JSON.parse((await hangar(['secrets', 'list', '-a', 'cli-app', '--json'], { env })).stdout);
    expect(json.map((s: object) => Object.keys(s))).toEqual(Array(3).fill(['Name', 'Digest', 'CreatedAt', 'UpdatedAt', 'Status']));
    const byName = new Map(json.map((s: { Name: string }) => [s.Name, s])) as Map<string, { Digest: string; Status: string }>;
    expect(byName.get('PLAIN')!.Digest).toBe(byName.get('SAME')!.Digest);
    expect(byName.get('BIN')!.Digest).not.toBe(byName.get('PLAIN')!.Digest);

    // Setting the same bytes again gives the same digest: the stdin value arrived exactly.
    const again = await hangar(['secrets', 'set', '-a', 'cli-app', 'BIN2=-', '--json'], { env, input: binary });
    expect(JSON.parse(again.stdout)[0].Digest).toBe(byName.get('BIN')!.Digest);

    const table = (await hangar(['secrets', 'list', '-a', 'cli-app'], { env })).stdout;
    expect(table.split('\n')[0]).toMatch(/^NAME\s+DIGEST\s+CREATED AT\s+UPDATED AT\s+STATUS$/);
    expect(table).not.toContain('plain-value-1');
  });

  it('imports dotenv from stdin, stages, deploys and unsets, taking the app from hangar.toml', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-proj-'));
    writeFileSync(join(dir, 'hangar.toml'), 'app = "cli-app"\n');
    const imp = await hangar(['secrets', 'import', '--stage'], {
      env,
      cwd: dir,
      input: '# comment\nexport CERT="-----BEGIN-----\nabc\n-----END-----"\nTOKEN=\'t0k\'\n',
    });
    expect(imp.status).toBe(0);
    expect(imp.stdout).toBe('Staged 2 secrets for app cli-app: CERT, TOKEN; run `hangar secrets deploy` to apply.\n');
    let list = JSON.parse((await hangar(['secrets', 'list', '--json'], { env, cwd: dir })).stdout);
    expect(list.find((s: { Name: string }) => s.Name === 'CERT').Status).toBe('Staged');
    expect((await hangar(['secrets', 'deploy'], { env, cwd: dir })).stdout).toBe('Deployed 2 staged changes to app cli-app.\n');
    expect((await hangar(['secrets', 'unset', 'TOKEN', 'CERT'], { env, cwd: dir })).stdout).toBe('Removed 2 secrets from app cli-app: TOKEN, CERT.\n');
    list = JSON.parse((await hangar(['secrets', 'list', '--json'], { env, cwd: dir })).stdout);
    expect(list.map((s: { Name: string }) => s.Name)).not.toContain('CERT');
  });

  it('refuses bad input with one sentence, exit 1, and changes nothing', async () => {
    const before = (await hangar(['secrets', 'list', '-a', 'cli-app', '--json'], { env })).stdout;
    const cases: [string[], string | undefined, RegExp][] = [
      [['secrets', 'set', '-a', 'cli-app', 'OK=1', 'bad-name=2'], undefined, /^hangar: secret argument 2 does not start with a valid name/],
      [['secrets', 'set', '-a', 'cli-app', 'postgres://u:pw-leak@h/db?x=1'], undefined, /^hangar: secret argument 1 does not start with a valid name/],
      [['secrets', 'set', '-a', 'cli-app', 'OK=1', 'OK=2'], undefined, /^hangar: secret OK is given twice/],
      [['secrets', 'set', '-a', 'cli-app', 'pasted-value-no-equals'], undefined, /^hangar: secret argument 1 is not NAME=VALUE/],
      [['secrets', 'set', '-a', 'cli-app', 'A=-', 'B=-'], 'x', /^hangar: both A and B ask for stdin/],
      [['secrets', 'set', '-a', 'cli-app', 'BIG=-'], 'x'.repeat(500 * 1024 + 1), /^hangar: the value of BIG is 512001 bytes, over the 500 KiB/],
      [['secrets', 'set', '-a', 'no-such-app', 'OK=1'], undefined, /^hangar: app "no-such-app" does not exist/],
      [['secrets', 'set', 'OK=1'], undefined, /^hangar: no app given; pass --app NAME/],
      [['secrets', 'import', '-a', 'cli-app'], 'GOOD=1\nBAD LINE\n', /^hangar: line 2 of the input is not NAME=VALUE/],
      [['secrets', 'import', '-a', 'cli-app'], '', /^hangar: stdin holds no NAME=VALUE lines/],
      [['secrets', 'unset', '-a', 'cli-app', 'PLAIN', 'MISSING'], undefined, /^hangar: secret MISSING is not set in app cli-app/],
      [['tokens', 'create', '--expiry', 'forever'], undefined, /^hangar: expiry "forever" is invalid/],
      [['tokens', 'revoke', 'tok_nope'], undefined, /^hangar: token "tok_nope" does not exist/],
    ];
    for (const [args, input, message] of cases) {
      const r = await hangar(args, { env, ...(input !== undefined ? { input } : {}) });
      expect(r.status, args.join(' ')).toBe(1);
      oneLineError(r.stderr);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toMatch(/pw-leak|pasted-value/);
    }
    expect((await hangar(['secrets', 'list', '-a', 'cli-app', '--json'], { env })).stdout).toBe(before);
  }, 120_000);
});

describe('tokens and audit from the CLI', () => {
  it('creates an app-scoped read token, shown once, that can list but not write', async () => {
    const created = await hangar(['tokens', 'create', '--app', 'cli-app', '--scope', 'read', '--expiry', '1h'], { env });
    expect(created.status).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^hgr_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/^Created token tok_[0-9a-f]+ \(scope read, app cli-app, expires .*\); it is not shown again\.\n$/);
    const scoped = { ...env, HANGAR_API_TOKEN: token, HANGAR_API_URL: server.url };
    expect((await hangar(['secrets', 'list', '-a', 'cli-app'], { env: scoped })).status).toBe(0);
    const write = await hangar(['secrets', 'set', '-a', 'cli-app', 'X=1'], { env: scoped });
    expect(write.status).toBe(1);
    expect(write.stderr).toBe('hangar: this token has scope read and this needs deploy; use a token with that scope.\n');
    const other = await hangar(['apps', 'create', 'other-app'], { env });
    expect(other.status).toBe(0);
    const cross = await hangar(['secrets', 'list', '-a', 'other-app'], { env: scoped });
    expect(cross.stderr).toBe('hangar: this token is limited to app cli-app; use a token for app other-app.\n');

    const list = JSON.parse((await hangar(['tokens', 'list', '--json'], { env })).stdout);
    const mine = list.find((t: { app: string | null; scope: string }) => t.app === 'cli-app' && t.scope === 'read');
    expect(mine.last_used_at).not.toBeNull();
    expect(JSON.stringify(list)).not.toContain(token);
    expect((await hangar(['tokens', 'revoke', mine.id], { env })).stdout).toBe(`Revoked token ${mine.id}.\n`);
    expect((await hangar(['secrets', 'list', '-a', 'cli-app'], { env: scoped })).status).toBe(1);
  });

  it('shows the audit trail as a table and as JSON', async () => {
    const json = JSON.parse((await hangar(['audit', '--json', '-a', 'cli-app'], { env })).stdout);
    const actions = json.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['apps.create', 'secrets.set', 'secrets.stage', 'secrets.deploy', 'secrets.unset']));
    expect(Object.keys(json[0])).toEqual(['id', 'time', 'token_id', 'action', 'app', 'name', 'digest', 'build_id']);
    const table = (await hangar(['audit', '-a', 'cli-app'], { env })).stdout;
    expect(table.split('\n')[0]).toMatch(/^TIME\s+TOKEN\s+ACTION\s+APP\s+NAME\s+DIGEST\s+BUILD$/);
  });
});
