// `hangar dockerfile parse|outline|check`: reads a Dockerfile (or stdin with
// `-f -`), calls the frontend in src/dockerfile and renders tables or JSON.
// Holds no parsing or lint logic; never prints a secret value (check reads
// --secret sources only to confirm they exist and fit, then drops them).
// The frontend loads inside the actions, so other commands do not pay for it.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import type { Finding } from '../dockerfile/lint.js';
import type { RawInstruction } from '../dockerfile/index.js';
import type { CliContext } from './context.js';
import { printJson } from './output/json.js';
import { renderTable } from './output/table.js';

async function readStdinText(ctx: CliContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.stdin as AsyncIterable<Buffer | string>) {
    chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readDockerfile(ctx: CliContext, file: string | undefined): Promise<{ name: string; text: string }> {
  const f = file ?? 'Dockerfile';
  if (f === '-') return { name: '<stdin>', text: await readStdinText(ctx) };
  const path = isAbsolute(f) ? f : resolve(ctx.cwd, f);
  try {
    return { name: f, text: await readFile(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`Dockerfile ${f} does not exist; pass its path with -f FILE.`);
    if (code === 'EISDIR') throw new UserError(`${f} is a directory; pass the Dockerfile's path with -f FILE.`);
    throw new UserError(`cannot read Dockerfile ${f} (${code ?? 'error'}); check its permissions.`);
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseBuildArgs(list: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq <= 0) {
      throw new UserError(`--build-arg ${JSON.stringify(kv.slice(0, 40))} is not NAME=VALUE; write --build-arg NAME=VALUE.`);
    }
    m.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return m;
}

// BuildKit's dump format: keyword, flags, quoted arguments; ONBUILD nests.
function dumpInstruction(ins: RawInstruction): string {
  let s = ins.keyword;
  if (ins.flags.length) s += ` [${ins.flags.map((f) => JSON.stringify(f)).join(' ')}]`;
  if (ins.next) s += ` (${dumpInstruction(ins.next)})`;
  for (const a of ins.args) s += ` ${JSON.stringify(a)}`;
  for (const h of ins.heredocs) s += `\n  <<${h.name} ${JSON.stringify(h.content)}`;
  return s;
}

function renderFindings(ctx: CliContext, file: string, findings: Finding[]): void {
  if (findings.length === 0) {
    ctx.stdout.write(`${file}: no findings.\n`);
    return;
  }
  for (const f of findings) {
    ctx.stdout.write(`${file}:${f.line}: ${f.severity} ${f.rule}: ${f.message}\n    fix: ${f.fix}\n`);
  }
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  ctx.stdout.write(`${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}.\n`);
}

export const dockerfileCommands = {
  name: 'dockerfile',
  register(program: Command, ctx: CliContext): void {
    const df = program.command('dockerfile').description('parse, outline and lint Dockerfiles (offline, nothing is built)');

    df.command('parse')
      .description("print the raw syntax tree (with --json: BuildKit's node values)")
      .option('-f, --file <FILE>', 'the Dockerfile (- for stdin)', 'Dockerfile')
      .option('--json', 'print JSON')
      .action(async (opts: { file: string; json?: boolean }) => {
        const { parse, parseInstructions, toRawTreeJson } = await import('../dockerfile/index.js');
        const { name, text } = await readDockerfile(ctx, opts.file);
        const tree = parse(text, { file: name });
        // Type the instructions too, so that parse reports every error a build would.
        parseInstructions(tree);
        if (opts.json) {
          printJson(ctx, toRawTreeJson(tree));
          return;
        }
        for (const [k, v] of Object.entries(tree.directives)) ctx.stdout.write(`# ${k}=${v}\n`);
        for (const ins of tree.instructions) ctx.stdout.write(`${dumpInstruction(ins)}\n`);
        for (const w of tree.warnings) ctx.stderr.write(`${name}:${w.line}: warning: ${w.message}\n`);
      });

    df.command('outline')
      .description('list stages, build args and the secrets the Dockerfile mounts')
      .option('-f, --file <FILE>', 'the Dockerfile (- for stdin)', 'Dockerfile')
      .option('--target <STAGE>', 'the stage to build (default: the last one)')
      .option('--build-arg <NAME=VALUE>', 'a build arg, to resolve base images (repeatable)', collect, [])
      .option('--json', 'print JSON')
      .action(async (opts: { file: string; target?: string; buildArg: string[]; json?: boolean }) => {
        const [{ parse, parseInstructions }, { formatMode, outline }] = await Promise.all([
          import('../dockerfile/index.js'),
          import('../dockerfile/outline.js'),
        ]);
        const { name, text } = await readDockerfile(ctx, opts.file);
        const ins = parseInstructions(parse(text, { file: name }));
        const o = outline(ins, { target: opts.target, buildArgs: parseBuildArgs(opts.buildArg) });
        if (opts.json) {
          printJson(ctx, { ...o, secrets: o.secrets.map((s) => ({ ...s, mode: formatMode(s.mode) })) });
          return;
        }
        ctx.stdout.write(`Target: ${o.target}\n\nStages:\n`);
        ctx.stdout.write(
          renderTable(
            ['#', 'name', 'base', 'line', 'needed'],
            o.stages.map((s) => [String(s.index), s.name || '-', s.base, String(s.line), s.needed ? 'yes' : 'no']),
          ),
        );
        ctx.stdout.write('\nBuild args:\n');
        ctx.stdout.write(
          o.buildArgs.length === 0
            ? '(none)\n'
            : renderTable(
                ['name', 'default', 'stage', 'line'],
                o.buildArgs.map((a) => [a.name, a.default ?? '-', a.stage || '(global)', String(a.line)]),
              ),
        );
        ctx.stdout.write('\nSecrets:\n');
        ctx.stdout.write(
          o.secrets.length === 0
            ? '(none)\n'
            : renderTable(
                ['id', 'target', 'env', 'required', 'mode', 'uid', 'gid', 'stage', 'line'],
                o.secrets.map((s) => [
                  s.id,
                  s.target ?? '-',
                  s.env ?? '-',
                  s.required ? 'yes' : 'no',
                  formatMode(s.mode),
                  String(s.uid),
                  String(s.gid),
                  s.stage,
                  String(s.line),
                ]),
              ),
        );
      });

    df.command('check')
      .description('lint how the Dockerfile handles secrets; exit 1 on any error-level finding')
      .option('-f, --file <FILE>', 'the Dockerfile (- for stdin)', 'Dockerfile')
      .option('--secret <SPEC>', 'a secret the build will get, docker syntax id=X,src=FILE (repeatable)', collect, [])
      .option('--json', 'print JSON')
      .action(async (opts: { file: string; secret: string[]; json?: boolean }) => {
        const [{ loadSecretValues, parseSecretSpec }, { parse, parseInstructions }, { check }] = await Promise.all([
          import('../build/secret-spec.js'),
          import('../dockerfile/index.js'),
          import('../dockerfile/lint.js'),
        ]);
        const specs = opts.secret.map(parseSecretSpec);
        if (opts.file === '-' && specs.some((sp) => sp.src === '/dev/stdin')) {
          throw new UserError('-f - and a --secret with src=/dev/stdin both read stdin; give one of them as a file.');
        }
        const { name, text } = await readDockerfile(ctx, opts.file);
        const ins = parseInstructions(parse(text, { file: name }));
        // Confirms every source exists and fits the size limit; the values are dropped at once.
        if (specs.length > 0) (await loadSecretValues(specs, { env: ctx.env, cwd: ctx.cwd, stdin: ctx.stdin })).clear();
        const findings = check(ins, specs.length > 0 ? { givenSecrets: specs.map((s) => s.id) } : {});
        if (opts.json) printJson(ctx, { file: name, findings });
        else renderFindings(ctx, name, findings);
        if (findings.some((f) => f.severity === 'error')) ctx.exitCode = 1;
      });
  },
};
