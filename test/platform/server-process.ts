// Starts a real `hangar server` process on a temporary data dir for benchmarks
// and tests: parses the one-time admin token and the URL from its stdout,
// collects its structured log, and stops it by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  token: string;
  dataDir: string;
  configHome: string;
  stdout: () => string;
  log: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startServerProcess(
  opts: { dataDir?: string; configHome?: string; env?: NodeJS.ProcessEnv; args?: string[]; logToFile?: boolean } = {},
): Promise<ServerProcess> {
  const base = mkdtempSync(join(tmpdir(), 'hangar-srv-'));
  const dataDir = opts.dataDir ?? join(base, 'data');
  const configHome = opts.configHome ?? join(base, 'config');
  const child = spawn(join(ROOT, 'bin/hangar'), ['server', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...(opts.args ?? [])], {
    env: { ...process.env, XDG_CONFIG_HOME: configHome, HANGAR_API_TOKEN: '', HANGAR_API_URL: '', ...opts.env },
    // A log file keeps the reading of a busy server's log off the measuring process.
    stdio: ['ignore', 'pipe', opts.logToFile ? openSync(join(base, 'server.log'), 'w') : 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // A test that fails before stopping its server must not leave the process behind.
  const reap = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', reap);
  void exited.then(() => process.removeListener('exit', reap));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 30_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${err}`));
    });
  });
  const token = /Admin token \(shown once; keep it safe\): (\S+)/.exec(out)?.[1] ?? '';
  return {
    child,
    url,
    token,
    dataDir,
    configHome,
    stdout: () => out,
    log: () => (opts.logToFile ? readFileSync(join(base, 'server.log'), 'utf8') : err),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}
