// Shared pieces for the BuildKit tests: the platform, a bundled child
// build script (plain node, so its memory is the client's, not a loader's),
// a way to run it, and the receiver's side of a file sync's packet stream.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { PacketSchema, Packet_PacketType as T, type Packet } from '../../src/buildkit/gen/fsutil/wire_pb.js';

export const platform = { os: 'linux', architecture: 'amd64' };

let bundled: string | undefined;

/** Bundles test/buildkit/fixtures/child-build.ts into one .mjs file (once per test file). */
export async function childBuildScript(): Promise<string> {
  if (bundled) return bundled;
  const { build } = await import('esbuild');
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'hangar-child-')), 'child-build.mjs');
  await build({
    entryPoints: [path.join(import.meta.dirname, 'fixtures/child-build.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: out,
    logLevel: 'silent',
    absWorkingDir: path.resolve(import.meta.dirname, '../..'),
  });
  bundled = out;
  return out;
}

export interface ChildResult {
  ok: boolean;
  error?: string;
  name?: string;
  bytesSynced?: number;
  output: string;
  maxRssKiB: number;
}

export interface ChildRun {
  done: Promise<ChildResult>;
  started: Promise<void>;
  pid: number;
  interrupt(): void;
}

export async function runChildBuild(args: Record<string, unknown>): Promise<ChildRun> {
  const script = await childBuildScript();
  // Run from the repo so bare imports resolve from its node_modules.
  const child = spawn(process.execPath, [script, JSON.stringify(args)], { cwd: path.resolve(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let onStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (onStarted = resolve));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.includes('STARTED')) onStarted();
  });
  const done = new Promise<ChildResult>((resolve, reject) => {
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as ChildResult);
      } catch {
        reject(new Error(`child build exited ${code} without a result: ${stdout}\n${stderr}`));
      }
    });
  });
  return { done, started, pid: child.pid!, interrupt: () => child.kill('SIGINT') };
}

/** Processes on this host whose command line contains `needle` (builds run in containers on the same kernel). */
export function processesMatching(needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(needle)) out.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** What a test receiver sends back to a file sync's sender: `packets` yields them in order and ends after FIN. */
export function packetsToSender(): { send: (p: MessageInitShape<typeof PacketSchema>) => void; packets: AsyncIterable<Packet> } {
  const queue: Packet[] = [];
  let wake: (() => void) | undefined;
  return {
    send: (p) => {
      queue.push(create(PacketSchema, p));
      wake?.();
    },
    packets: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          while (queue.length > 0) {
            const p = queue.shift()!;
            yield p;
            if (p.type === T.PACKET_FIN) return;
          }
          await new Promise<void>((r) => (wake = r));
        }
      },
    },
  };
}
