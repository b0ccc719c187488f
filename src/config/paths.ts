// Where Hangar keeps things on disk and how the CLI finds its API: the server's
// data dir, the CLI config file (API URL and token, mode 0600), and the app a
// command is about. Never prints or logs a token.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { UserError } from '../errors.js';
import { DEFAULT_API_URL, DEFAULT_LISTEN, cliConfigDir } from './defaults.js';

export { DEFAULT_API_URL, DEFAULT_LISTEN };

/** `--data-dir`, then HANGAR_DATA_DIR, then $XDG_DATA_HOME/hangar (~/.local/share/hangar). */
export function serverDataDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return flag;
  if (env.HANGAR_DATA_DIR) return env.HANGAR_DATA_DIR;
  const base = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'hangar');
}

/** $XDG_CONFIG_HOME/hangar/config.json (~/.config/hangar/config.json). */
export function cliConfigPath(env: NodeJS.ProcessEnv): string {
  return join(cliConfigDir(env), 'config.json');
}

export interface CliConfig {
  api_url?: string;
  token?: string;
}

export function readCliConfig(env: NodeJS.ProcessEnv): CliConfig | undefined {
  const path = cliConfigPath(env);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new UserError(`the CLI config ${path} is not valid JSON; fix it or remove it and run \`hangar auth login\`.`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UserError(`the CLI config ${path} is not a JSON object; fix it or remove it and run \`hangar auth login\`.`);
  }
  const obj = parsed as Record<string, unknown>;
  const config: CliConfig = {};
  if (typeof obj.api_url === 'string') config.api_url = obj.api_url;
  if (typeof obj.token === 'string') config.token = obj.token;
  return config;
}

/** Writes the config atomically with mode 0600 so a token never sits in a world-readable file. */
export function writeCliConfig(env: NodeJS.ProcessEnv, config: CliConfig): string {
  const path = cliConfigPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return path;
}

export interface ApiTarget {
  url: string;
  token: string | undefined;
  /** Where the token came from, for `auth whoami` and error messages. */
  tokenSource: 'HANGAR_API_TOKEN' | 'config' | 'none';
}

/** HANGAR_API_URL / HANGAR_API_TOKEN override the config file. */
export function resolveApiTarget(env: NodeJS.ProcessEnv): ApiTarget {
  const config = readCliConfig(env) ?? {};
  const url = (env.HANGAR_API_URL || config.api_url || DEFAULT_API_URL).replace(/\/+$/, '');
  if (env.HANGAR_API_TOKEN) return { url, token: env.HANGAR_API_TOKEN, tokenSource: 'HANGAR_API_TOKEN' };
  if (config.token) return { url, token: config.token, tokenSource: 'config' };
  return { url, token: undefined, tokenSource: 'none' };
}

/** `-a/--app`, then HANGAR_APP, then `app = "..."` in ./hangar.toml. */
export function resolveAppName(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  if (flag) return flag;
  if (env.HANGAR_APP) return env.HANGAR_APP;
  const tomlPath = join(cwd, 'hangar.toml');
  if (existsSync(tomlPath)) {
    let doc: Record<string, unknown>;
    try {
      doc = parseToml(readFileSync(tomlPath, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new UserError(`${tomlPath} is not valid TOML (${why}); fix it or pass the app with --app.`);
    }
    if (typeof doc.app === 'string' && doc.app) return doc.app;
  }
  throw new UserError('no app given; pass --app NAME, set HANGAR_APP, or add app = "NAME" to ./hangar.toml.');
}
