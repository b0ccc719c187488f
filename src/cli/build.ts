// `hangar build [PATH]`: docker-compatible flags in, a build by Hangar's own
// frontend on the configured builder, the image in the engine's store.
// Parses flags and renders progress; the work is in src/build/local-build.ts.
// Secret values never pass through here: only specs (ids, paths, env names).
import { Command, Option } from 'commander';
import type { ProgressEvent } from '../buildkit/index.js';
import { UserError } from '../errors.js';
import type { CliContext } from './context.js';
import { createProgressRenderer, type ProgressMode, type ProgressRenderer } from './output/progress.js';

type ProgressFlag = ProgressMode | 'quiet';

interface BuildFlags {
  file?: string;
  tag: string[];
  secret: string[];
  buildArg: string[];
  target?: string;
  cache: boolean;
  progress: ProgressFlag;
  builder?: string;
  builderTlsCa?: string;
  builderTlsCert?: string;
  builderTlsKey?: string;
  pull?: boolean;
  secretCache: string;
  quiet?: boolean;
  output?: string;
  iidfile?: string;
  label: string[];
  network: 'default' | 'host' | 'none';
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

/** `--label K=V` values; the key must not be empty. */
export function parseLabels(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    const key = eq === -1 ? item : item.slice(0, eq);
    if (key.trim() === '') throw new UserError(`--label ${item} has no key; write --label KEY=VALUE.`);
    out[key] = eq === -1 ? '' : item.slice(eq + 1);
  }
  return out;
}

export const buildCommands = {
  name: 'build',
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
      .option('--builder-tls-ca <file>', 'CA certificate to verify a buildkit+tcp:// builder')
      .option('--builder-tls-cert <file>', 'client certificate for a buildkit+tcp:// builder')
      .option('--builder-tls-key <file>', 'client key for a buildkit+tcp:// builder')
      .option('--pull', 'let the builder fetch base images it does not have (off: a missing base image is an error)')
      .option('-q, --quiet', 'print only the image id')
      .option('-o, --output <spec>', 'write the result instead of storing the image in the engine: DIR or type=local,dest=DIR (the files), type=tar|oci|docker,dest=FILE')
      .option('--iidfile <file>', 'write the image id to FILE')
      .option('--label <label>', 'set an image label KEY=VALUE; repeatable', collect, [])
      .addOption(new Option('--network <mode>', 'network of RUN steps that do not set --network').choices(['default', 'host', 'none']).default('default'))
      .action(async (path: string, flags: BuildFlags) => {
        let mode: ProgressFlag = flags.quiet ? 'quiet' : flags.progress;
        if (mode === 'auto') mode = ctx.stderr.isTTY ? 'tty' : 'plain';
        // JSON events are the command's output (stdout); the human views go to stderr.
        const renderer: ProgressRenderer | undefined =
          mode === 'quiet' ? undefined : createProgressRenderer(mode, mode === 'json' ? ctx.stdout : ctx.stderr);
        let sawProgress = false;
        const progress = renderer
          ? (e: ProgressEvent) => {
              sawProgress = true;
              renderer.update(e);
            }
          : undefined;
        const abort = new AbortController();
        const onSigint = () => abort.abort();
        process.once('SIGINT', onSigint);
        try {
          // Loaded on use: the builder client and compiler are not needed by other commands.
          const { runLocalBuild, parseOutputSpec } = await import('../build/local-build.js');
          const output = flags.output ? parseOutputSpec(flags.output) : undefined;
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
              builderTls: {
                ...(flags.builderTlsCa ? { ca: flags.builderTlsCa } : {}),
                ...(flags.builderTlsCert ? { cert: flags.builderTlsCert } : {}),
                ...(flags.builderTlsKey ? { key: flags.builderTlsKey } : {}),
              },
              pull: flags.pull === true,
              ...(output ? { output } : {}),
              ...(flags.iidfile ? { iidfile: flags.iidfile } : {}),
              ...(flags.label.length > 0 ? { labels: parseLabels(flags.label) } : {}),
              network: flags.network,
              stdin: ctx.stdin,
              env: ctx.env,
              cwd: ctx.cwd,
            },
            {
              // On a terminal the live view draws the warning above itself; JSON warnings stay off stdout.
              warn: (m) => {
                if (mode === 'json') ctx.stderr.write(`${JSON.stringify({ warning: m })}\n`);
                else if (renderer) renderer.note(`hangar: warning: ${m}`);
                else ctx.stderr.write(`hangar: warning: ${m}\n`);
              },
              // HANGAR_DEBUG=1: when each step of the client's side happened, in ms since the process started.
              ...(ctx.env.HANGAR_DEBUG === '1' ? { trace: (e: string) => ctx.stderr.write(`hangar: debug: ${performance.now().toFixed(0)} ms (cpu ${cpuMs()} ms) ${e}\n`) } : {}),
              ...(progress ? { progress } : {}),
              signal: abort.signal,
            },
          );
          if (sawProgress) renderer?.finish();
          if (mode === 'json') ctx.stdout.write(`${JSON.stringify({ result: { imageId: result.imageId ?? null, tags: result.tags } })}\n`);
          else if (mode === 'quiet') ctx.stdout.write(`${result.imageId ?? ''}\n`);
          else if (output) {
            ctx.stderr.write(`Built ${result.imageId ?? 'the result'} into ${output.dest}\n`);
          } else {
            const names = result.tags.length > 0 ? ` as ${result.tags.join(', ')}` : '';
            ctx.stderr.write(`Built ${result.imageId ?? 'image'}${names}\n`);
          }
        } catch (err) {
          // The error itself is printed once, by the CLI, as one sentence.
          if (sawProgress) renderer?.finish();
          throw err;
        } finally {
          process.removeListener('SIGINT', onSigint);
        }
      });
  },
};

/** CPU time this process has used so far (user + system), in whole milliseconds. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return Math.round((u.user + u.system) / 1000);
}
