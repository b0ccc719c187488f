// Runs `hangar server`: opens the store and the vault (creating the master key
// and the first admin token on first start), serves the API, and shuts down
// gracefully on SIGTERM/SIGINT. The first admin token is written once to the
// given output (never to the log) and saved to the CLI config when the user has
// none. Never logs a token or a value.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { serve, type ServerType } from '@hono/node-server';
import { UserError } from '../errors.js';
import { cliConfigPath, readCliConfig, writeCliConfig } from '../config/paths.js';
import { Store, storeLocation } from '../store/store.js';
import { loadMasterKey } from '../vault/master-key.js';
import { recoverRotation } from '../vault/rotation.js';
import { MASTER_KEY_ID_META, SecretVault } from '../vault/vault.js';
import { createApi } from './app.js';
import { ServerLog } from './log.js';
import { AuthFailureLimiter } from './rate-limit.js';
import { TokenService } from './tokens.js';

export interface ServerOptions {
  dataDir: string;
  listen: string;
  database?: string | undefined;
  builder?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Where the one-time admin token and the address go (stdout). */
  out: Writable;
  /** Structured logs (stderr). */
  logOut: Writable;
}

export interface RunningServer {
  url: string;
  /** Resolves when the server has stopped. */
  closed: Promise<void>;
  stop(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new UserError(`listen address ${JSON.stringify(listen)} is invalid; give HOST:PORT, such as 127.0.0.1:4280 or [::1]:4280.`);
  }
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** One server per data dir: a second one would hold a stale master key after a rotation. */
function claimDataDir(dataDir: string): string {
  const pidFile = join(dataDir, 'server.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new UserError(`another hangar server (pid ${pid}) is using ${dataDir}; stop it first or give another --data-dir.`);
    }
  }
  writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });
  return pidFile;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function assertDataDirFree(dataDir: string): void {
  const pidFile = join(dataDir, 'server.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
    throw new UserError(`a hangar server (pid ${pid}) is running on ${dataDir}; stop it before rotating the master key.`);
  }
}

function authFailureLimit(env: NodeJS.ProcessEnv): number {
  const raw = env.HANGAR_AUTH_FAILURES_PER_MINUTE;
  if (raw === undefined || raw === '') return 20;
  if (!/^[1-9][0-9]{0,5}$/.test(raw)) {
    throw new UserError('HANGAR_AUTH_FAILURES_PER_MINUTE must be a positive whole number, such as 20.');
  }
  return Number(raw);
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { host, port } = parseListen(opts.listen);
  const limit = authFailureLimit(opts.env);
  // The database, its WAL and the key files are for this user only.
  process.umask(0o077);
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(opts.dataDir, 0o700);
  const pidFile = claimDataDir(opts.dataDir);
  const log = new ServerLog(opts.logOut);
  let store: Store | undefined;
  let listening: ServerType | undefined;
  try {
    store = await Store.open(storeLocation(opts.database, opts.dataDir, opts.env));
    await recoverRotation(opts.dataDir, store);
    // A database whose keys are wrapped already needs its own master key back, never a fresh one.
    const databaseHasKeys = (await store.repos.getMeta(MASTER_KEY_ID_META)) !== undefined;
    const master = loadMasterKey(opts.dataDir, opts.env, !databaseHasKeys);
    if (master.created) log.info('created master key', { path: master.path });
    const vault = await SecretVault.open(store, master.key);
    const tokens = new TokenService(store);
    const api = createApi({ vault, tokens, limiter: new AuthFailureLimiter(limit), log });

    const server = await new Promise<ServerType>((resolve, reject) => {
      const s = serve({ fetch: api.fetch, hostname: host, port }, () => resolve(s));
      listening = s;
      s.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new UserError(`${opts.listen} is already in use; stop what listens there or pass another --listen.`)
            : err,
        ),
      );
    });
    const addr = server.address() as AddressInfo;
    const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;

    // Minted only once the server listens, so a failed start never burns the one-time token.
    const admin = await tokens.bootstrapAdmin();
    if (admin) {
      opts.out.write(`Admin token (shown once; keep it safe): ${admin}\n`);
      if (readCliConfig(opts.env) === undefined) {
        const path = writeCliConfig(opts.env, { api_url: url, token: admin });
        opts.out.write(`Saved it to ${path} for the hangar CLI.\n`);
      } else {
        opts.out.write(`The CLI config ${cliConfigPath(opts.env)} exists and was left alone; run \`hangar auth login\` to use this token.\n`);
      }
    }
    log.info('listening', { url, database: store.dialect, builder: opts.builder });
    opts.out.write(`hangar server listening on ${url}\n`);

    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => (resolveClosed = r));
    let stopping: Promise<void> | undefined;
    const openStore = store;
    const stop = () => {
      stopping ??= (async () => {
        log.info('shutting down');
        await new Promise<void>((r) => {
          server.close(() => r());
          // Idle keep-alive connections would hold close() open; in-flight requests finish first.
          (server as import('node:http').Server).closeIdleConnections?.();
        });
        await openStore.close();
        rmSync(pidFile, { force: true });
        log.info('stopped');
        resolveClosed();
      })();
      return stopping;
    };
    return { url, closed, stop };
  } catch (err) {
    listening?.close();
    await store?.close();
    rmSync(pidFile, { force: true });
    throw err;
  }
}
