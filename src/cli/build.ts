// `hangar build [PATH]`: docker-compatible flags in, a build by Hangar's own
// frontend on the configured builder, the image in the engine's store.
// Parses flags and renders progress; the work is in src/build/local-build.ts.
// Secret values never pass through here: only specs (ids, paths, env names).
import { Command, Option } from 'commander';
import type { ProgressEvent } from '../buildkit/index.js';
import { UserError } from '../errors.js';
import type { CliContext } from './context.js';

type ProgressMode = 'auto' | 'tty' | 'plain' | 'json' | 'quiet';

interface BuildFlags {
  file?: string;
  tag: string[];
  secret: string[];
  buildArg: string[];
  target?: string;
  cache: boolean;
  progress: ProgressMode;
  builder?: string;
  secretCache: string;
  quiet?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function parseBuildArgs(list: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    const key = eq === -1 ? item : item.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UserError(`--build-arg ${key} is not a valid name; write --build-arg NAME=VALUE.`);
    }
    // `--build-arg NAME` takes the value from the environment, as docker does.
    if (eq === -1) {
      const v = env[key];
      if (v !== undefined) out[key] = v;
    } else out[key] = item.slice(eq + 1);
  }
  return out;
}

/** Plain progress: one line per step start, log line and end, numbered like BuildKit's. */
export class PlainProgress {
  private readonly numbers = new Map<string, number>();
  private readonly done = new Set<string>();
  private readonly started = new Set<string>();
  constructor(private readonly write: (s: string) => void) {}

  private num(digest: string): number {
    let n = this.numbers.get(digest);
    if (n === undefined) {
      n = this.numbers.size + 1;
      this.numbers.set(digest, n);
    }
    return n;
  }

  update(e: ProgressEvent): void {
    for (const v of e.vertexes) {
      const n = this.num(v.digest);
      if (!this.started.has(v.digest) && (v.started || v.cached)) {
        this.started.add(v.digest);
        this.write(`#${n} ${v.name}\n`);
      }
      if (this.done.has(v.digest)) continue;
      if (v.error) {
        this.done.add(v.digest);
        this.write(`#${n} ERROR: ${v.error}\n`);
      } else if (v.cached) {
        this.done.add(v.digest);
        this.write(`#${n} CACHED\n`);
      } else if (v.completed) {
        this.done.add(v.digest);
        const secs = v.started ? ((v.completed.getTime() - v.started.getTime()) / 1000).toFixed(1) : '0.0';
        this.write(`#${n} DONE ${secs}s\n`);
      }
    }
    for (const l of e.logs) {
      const n = this.num(l.vertex);
      for (const line of l.data.toString('utf8').split('\n')) if (line !== '') this.write(`#${n} ${line}\n`);
    }
  }
}

function jsonEvent(e: ProgressEvent): string {
  return `${JSON.stringify({
    vertexes: e.vertexes.map((v) => ({ ...v, started: v.started?.toISOString(), completed: v.completed?.toISOString() })),
    statuses: e.statuses.map((s) => ({ ...s, started: s.started?.toISOString(), completed: s.completed?.toISOString() })),
    logs: e.logs.map((l) => ({ vertex: l.vertex, stream: l.stream, data: l.data.toString('utf8'), time: l.time.toISOString() })),
  })}\n`;
}

export const buildCommands = {
  register(program: Command, ctx: CliContext): void {
    program
      .command('build')
      .description('build an image from a Dockerfile with build secrets (docker build compatible)')
      .argument('[path]', 'the build context directory', '.')
      .option('-f, --file <file>', 'the Dockerfile (default: PATH/Dockerfile)')
      .option('-t, --tag <name>', 'name the image NAME[:TAG]; repeatable', collect, [])
      .option('--secret <spec>', 'a build secret: id=X,src=FILE | id=X,env=VAR | id=X; repeatable', collect, [])
      .option('--build-arg <arg>', 'set a build-time variable NAME=VALUE; repeatable', collect, [])
      .option('--target <stage>', 'build this stage')
      .option('--no-cache', 'do not use the build cache')
      .addOption(new Option('--progress <mode>', 'progress output').choices(['auto', 'tty', 'plain', 'json', 'quiet']).default('auto'))
      .addOption(new Option('--secret-cache <mode>', 'digest: rerun steps whose mounted secrets changed').choices(['off', 'digest']).default('off'))
      .option('--builder <url>', 'the builder: unix:// or tcp:// (Docker Engine), buildkit+unix:// or buildkit+tcp://')
      .option('-q, --quiet', 'print only the image id')
      .action(async (path: string, flags: BuildFlags) => {
        let mode: ProgressMode = flags.quiet ? 'quiet' : flags.progress;
        if (mode === 'auto') mode = ctx.stderr.isTTY ? 'tty' : 'plain';
        const plain = new PlainProgress((s) => ctx.stderr.write(s));
        const progress =
          mode === 'json'
            ? (e: ProgressEvent) => ctx.stdout.write(jsonEvent(e))
            : mode === 'quiet'
              ? undefined
              : (e: ProgressEvent) => plain.update(e);
        const abort = new AbortController();
        const onSigint = () => abort.abort();
        process.once('SIGINT', onSigint);
        try {
          // Loaded on use: the builder client and compiler are not needed by other commands.
          const { runLocalBuild } = await import('../build/local-build.js');
          const result = await runLocalBuild(
            {
              context: path,
              dockerfile: flags.file,
              tags: flags.tag,
              secrets: flags.secret,
              buildArgs: parseBuildArgs(flags.buildArg, ctx.env),
              target: flags.target,
              noCache: flags.cache === false,
              secretCache: flags.secretCache === 'digest' ? 'digest' : 'off',
              builder: flags.builder,
              env: ctx.env,
              cwd: ctx.cwd,
            },
            {
              warn: (m) => ctx.stderr.write(mode === 'json' ? `${JSON.stringify({ warning: m })}\n` : `hangar: warning: ${m}\n`),
              ...(progress ? { progress } : {}),
              signal: abort.signal,
            },
          );
          if (mode === 'json') ctx.stdout.write(`${JSON.stringify({ result: { imageId: result.imageId ?? null, tags: result.tags } })}\n`);
          else if (mode === 'quiet') ctx.stdout.write(`${result.imageId ?? ''}\n`);
          else {
            const names = result.tags.length > 0 ? ` as ${result.tags.join(', ')}` : '';
            ctx.stderr.write(`Built ${result.imageId ?? 'image'}${names}\n`);
            if (ctx.env.HANGAR_DEBUG === '1') ctx.stderr.write(`context bytes sent: ${result.bytesSynced}\n`);
          }
        } finally {
          process.removeListener('SIGINT', onSigint);
        }
      });
  },
};
