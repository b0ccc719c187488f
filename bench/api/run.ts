// API benchmark on loopback with autocannon, against a real `hangar server`
// process: authenticated `secrets list` of an app with 1,000 secrets, and
// `secrets set` of one secret; each flat out and at a fixed 500 req/s.
// Run: npx tsx bench/api/run.ts [--duration 10] [--connections 10]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { startServerProcess } from '../../test/platform/server-process.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const duration = flag('duration', 10);
const connections = flag('connections', 10);

interface Figures {
  name: string;
  /** Server CPU (user + system) per request: what the run costs whatever else the machine is doing. */
  cpuUsPerReq: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** CPU time of a process so far, in microseconds (Linux /proc, clock ticks of 10 ms). */
function processCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

let serverPid = 0;
const loadBefore = loadavg()[0]!;

async function measure(name: string, opts: autocannon.Options): Promise<Figures> {
  const cpu0 = processCpuUs(serverPid);
  const r = await autocannon({ duration, connections, ...opts });
  const cpu = processCpuUs(serverPid) - cpu0;
  return {
    name,
    cpuUsPerReq: Math.round(cpu / Math.max(1, r.requests.total)),
    reqPerSec: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}

/** The same client against a bare node:http server with a body of the same size: the machine's ceiling. */
async function baseline(): Promise<Figures> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./baseline-server.ts', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
  const saved = serverPid;
  serverPid = child.pid!;
  try {
    return await measure('baseline: bare node:http, same body size, max rate', { url });
  } finally {
    serverPid = saved;
    child.kill('SIGTERM');
  }
}

const server = await startServerProcess({ logToFile: true });
serverPid = server.child.pid!;
try {
  const auth = { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' };
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  };
  await post('/v1/apps', { name: 'bench' });
  const secrets = Array.from({ length: 1000 }, (_, i) => ({
    name: `SECRET_${String(i).padStart(4, '0')}`,
    value_base64: Buffer.from(`value-${i}-${'x'.repeat(40)}`).toString('base64'),
  }));
  await post('/v1/apps/bench/secrets', { secrets });
  await post('/v1/apps', { name: 'bench-set' });

  const listUrl = `${server.url}/v1/apps/bench/secrets`;
  // Uncompressed on purpose (about 197 kB per listing): the heavier case. Clients that send
  // Accept-Encoding: gzip, as the CLI does, get about 41 kB.
  const listHeaders = { authorization: auth.authorization };
  const setReq = {
    url: `${server.url}/v1/apps/bench-set/secrets`,
    method: 'POST' as const,
    headers: auth,
    body: JSON.stringify({ secrets: [{ name: 'ONE', value_base64: Buffer.from('one secret value').toString('base64') }] }),
  };
  const results: Figures[] = [];
  results.push(await measure('secrets list (1,000 secrets), max rate', { url: listUrl, headers: listHeaders }));
  results.push(await baseline());
  results.push(await measure('secrets list (1,000 secrets), 500 req/s', { url: listUrl, headers: listHeaders, overallRate: 500 }));
  results.push(await measure('secrets set (1 secret), max rate', setReq));
  results.push(await measure('secrets set (1 secret), 500 req/s', { ...setReq, overallRate: 500 }));

  console.log(
    `hangar API on loopback: ${connections} connections, ${duration} s per run, Node ${process.version}, load average before ${loadBefore.toFixed(1)}`,
  );
  console.log('| run | req/s | p50 ms | p99 ms | server CPU µs/req | errors | non-2xx |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const f of results) console.log(`| ${f.name} | ${f.reqPerSec} | ${f.p50} | ${f.p99} | ${f.cpuUsPerReq} | ${f.errors} | ${f.non2xx} |`);
} finally {
  await server.stop();
}
