import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliConfigPath, readCliConfig, resolveApiTarget, resolveAppName, serverDataDir, writeCliConfig } from '../../src/config/paths.js';

describe('config paths and the CLI config file', () => {
  it('finds the data dir from the flag, HANGAR_DATA_DIR, then XDG', () => {
    expect(serverDataDir('/x', { HANGAR_DATA_DIR: '/y' })).toBe('/x');
    expect(serverDataDir(undefined, { HANGAR_DATA_DIR: '/y', XDG_DATA_HOME: '/z' })).toBe('/y');
    expect(serverDataDir(undefined, { XDG_DATA_HOME: '/z' })).toBe('/z/hangar');
    expect(serverDataDir(undefined, { HOME: '/home/u' })).toBe('/home/u/.local/share/hangar');
  });

  it('writes the CLI config with mode 0600 and lets the environment override it', () => {
    const home = mkdtempSync(join(tmpdir(), 'hangar-cfg-'));
    const env = { XDG_CONFIG_HOME: home };
    const path = writeCliConfig(env, { api_url: 'http://127.0.0.1:1', token: 'hgr_x' });
    expect(path).toBe(cliConfigPath(env));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readCliConfig(env)).toEqual({ api_url: 'http://127.0.0.1:1', token: 'hgr_x' });
    expect(resolveApiTarget(env)).toEqual({ url: 'http://127.0.0.1:1', token: 'hgr_x', tokenSource: 'config' });
    expect(resolveApiTarget({ ...env, HANGAR_API_URL: 'http://127.0.0.1:2/', HANGAR_API_TOKEN: 'hgr_y' })).toEqual({
      url: 'http://127.0.0.1:2',
      token: 'hgr_y',
      tokenSource: 'HANGAR_API_TOKEN',
    });
  });

  it('takes the app from --app, HANGAR_APP, then hangar.toml, and says how when none is given', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-app-'));
    expect(() => resolveAppName(undefined, {}, dir)).toThrow(/no app given; pass --app NAME/);
    writeFileSync(join(dir, 'hangar.toml'), 'app = "from-toml"\n[build]\nsecrets_from_app = []\n');
    expect(resolveAppName(undefined, {}, dir)).toBe('from-toml');
    expect(resolveAppName(undefined, { HANGAR_APP: 'from-env' }, dir)).toBe('from-env');
    expect(resolveAppName('from-flag', { HANGAR_APP: 'from-env' }, dir)).toBe('from-flag');
    writeFileSync(join(dir, 'hangar.toml'), 'app = \n');
    expect(() => resolveAppName(undefined, {}, dir)).toThrow(/hangar.toml is not valid TOML/);
  });

  it('rejects a config file that is not a JSON object', () => {
    const home = mkdtempSync(join(tmpdir(), 'hangar-cfg-'));
    const env = { XDG_CONFIG_HOME: home };
    writeCliConfig(env, {});
    writeFileSync(cliConfigPath(env), '[1]');
    expect(() => readCliConfig(env)).toThrow(/is not a JSON object/);
  });
});
