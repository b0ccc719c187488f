// Raw tree → typed commands grouped into stages: flag parsing, argument
// shapes, RUN mounts, network and security modes, heredoc sources, with
// BuildKit's rules and defaults. Values stay unexpanded here (expansion needs
// build args and happens per instruction, see expansion.ts). Every problem is
// a DockerfileError with file, line and column; nothing here reads files.
import { DockerfileError, type Position } from './errors.js';
import { editDistance, MountSpecError, parseRunMount, type RunMount } from './mounts.js';
import {
  chompHeredocContent,
  mustParseHeredocWord,
  trimSpace,
  type ParseWarning,
  type RawDockerfile,
  type RawInstruction,
} from './parser.js';

export interface KeyValuePair {
  key: string;
  value: string;
  /** True for the legacy `ENV key value` form (no `=`). */
  noDelim: boolean;
}

export interface ArgDefinition {
  key: string;
  /** The default as written, or null when the ARG has none. */
  value: string | null;
}

/** A heredoc used as the script or an extra file of RUN/CMD/ENTRYPOINT. */
export interface ShellInlineFile {
  name: string;
  data: string;
  chomp: boolean;
  expand: boolean;
  fileDescriptor: number;
}

/** A heredoc used as a COPY/ADD source: an anonymous file named after its delimiter. */
export interface SourceContent {
  path: string;
  data: string;
  expand: boolean;
}

interface CommandBase {
  /** The keyword as written (`RUN`, `run`). */
  name: string;
  startLine: number;
  endLine: number;
  /** The instruction's text (continuations joined), trimmed. */
  code: string;
  raw: RawInstruction;
}

export interface RunCommand extends CommandBase {
  kind: 'run';
  /** Shell form: one element; exec form: the argv. */
  cmdLine: string[];
  prependShell: boolean;
  files: ShellInlineFile[];
  /** Raw `--mount` values, in order (for re-parsing after expansion). */
  mountSpecs: string[];
  mounts: RunMount[];
  network: 'default' | 'none' | 'host';
  security: 'sandbox' | 'insecure';
  flagsUsed: string[];
}

export interface CmdCommand extends CommandBase {
  kind: 'cmd';
  cmdLine: string[];
  prependShell: boolean;
  files: ShellInlineFile[];
}

export interface EntrypointCommand extends CommandBase {
  kind: 'entrypoint';
  /** Null for `ENTRYPOINT []`-like empty forms. */
  cmdLine: string[] | null;
  prependShell: boolean;
  files: ShellInlineFile[];
}

export interface CopyCommand extends CommandBase {
  kind: 'copy';
  sourcePaths: string[];
  sourceContents: SourceContent[];
  dest: string;
  from: string;
  chown: string;
  chmod: string;
  link: boolean;
  parents: boolean;
  exclude: string[];
}

export interface AddCommand extends CommandBase {
  kind: 'add';
  sourcePaths: string[];
  sourceContents: SourceContent[];
  dest: string;
  chown: string;
  chmod: string;
  link: boolean;
  exclude: string[];
  checksum: string;
  keepGitDir: boolean | null;
  unpack: boolean | null;
}

export interface EnvCommand extends CommandBase {
  kind: 'env';
  env: KeyValuePair[];
}

export interface LabelCommand extends CommandBase {
  kind: 'label';
  labels: KeyValuePair[];
}

export interface ArgCommand extends CommandBase {
  kind: 'arg';
  args: ArgDefinition[];
}

export interface ExposeCommand extends CommandBase {
  kind: 'expose';
  /** Sorted, as BuildKit sorts them. */
  ports: string[];
}

export interface WorkdirCommand extends CommandBase {
  kind: 'workdir';
  path: string;
}

export interface UserCommand extends CommandBase {
  kind: 'user';
  user: string;
}

export interface ShellCommand extends CommandBase {
  kind: 'shell';
  shell: string[];
}

/** Durations are in nanoseconds, as in an image config; 0 means unset. */
export interface HealthcheckConfig {
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}

export interface HealthcheckCommand extends CommandBase {
  kind: 'healthcheck';
  health: HealthcheckConfig;
}

export interface StopSignalCommand extends CommandBase {
  kind: 'stopsignal';
  signal: string;
}

export interface VolumeCommand extends CommandBase {
  kind: 'volume';
  volumes: string[];
}

export interface OnbuildCommand extends CommandBase {
  kind: 'onbuild';
  /** The trigger as it is stored in the image config (heredocs appended). */
  expression: string;
  trigger: RawInstruction;
}

export interface MaintainerCommand extends CommandBase {
  kind: 'maintainer';
  maintainer: string;
}

export type Command =
  | RunCommand
  | CmdCommand
  | EntrypointCommand
  | CopyCommand
  | AddCommand
  | EnvCommand
  | LabelCommand
  | ArgCommand
  | ExposeCommand
  | WorkdirCommand
  | UserCommand
  | ShellCommand
  | HealthcheckCommand
  | StopSignalCommand
  | VolumeCommand
  | OnbuildCommand
  | MaintainerCommand;

export type CommandKind = Command['kind'];

/** A build stage: a FROM line and the commands after it. */
export interface Stage {
  /** Position among the stages, from 0 (`COPY --from=0` refers to it). */
  index: number;
  /** Lower-cased `AS` name, or '' when unnamed. */
  name: string;
  /** The base image or stage expression, unexpanded (may hold global ARGs). */
  baseName: string;
  /** `--platform` expression, unexpanded, or '' when absent. */
  platform: string;
  /** Line of the FROM instruction. */
  line: number;
  endLine: number;
  /** The FROM keyword as written. */
  origCmd: string;
  code: string;
  commands: Command[];
  raw: RawInstruction;
}

/** The typed view of a whole Dockerfile. */
export interface DockerfileInstructions {
  file: string;
  escape: string;
  directives: Record<string, string>;
  /** ARG instructions before the first FROM (visible in FROM lines). */
  metaArgs: ArgCommand[];
  stages: Stage[];
  /** The parser's warnings (empty continuation lines). */
  warnings: ParseWarning[];
}

export const INSTRUCTION_NAMES = [
  'add',
  'arg',
  'cmd',
  'copy',
  'entrypoint',
  'env',
  'expose',
  'from',
  'healthcheck',
  'label',
  'maintainer',
  'onbuild',
  'run',
  'shell',
  'stopsignal',
  'user',
  'volume',
  'workdir',
] as const;

const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;

class InstructionContext {
  constructor(
    readonly file: string,
    readonly raw: RawInstruction,
  ) {}

  fail(problem: string, opts: { at?: Position; excerpt?: string; fix?: string } = {}): never {
    throw new DockerfileError({
      file: this.file,
      at: opts.at ?? this.raw.positions.keyword,
      problem,
      excerpt: opts.excerpt ?? trimSpace(this.raw.original),
      fix: opts.fix,
    });
  }

  failArgs(problem: string, fix?: string): never {
    this.fail(problem, { at: this.raw.positions.args, fix });
  }
}

type FlagKind = 'bool' | 'string' | 'strings';
interface FlagSpec {
  kind: FlagKind;
  def?: string;
}
interface FlagValues {
  values: Map<string, string>;
  lists: Map<string, string[]>;
  used: Set<string>;
}

const EMPTY_FLAGS: FlagValues = { values: new Map(), lists: new Map(), used: new Set() };

// BuildKit's instruction flags: `--name=value`, `--name` for booleans,
// repeatable list flags; a bare `--` ends the flags.
// Defaults per flag table, shared by every instruction that gives no flags
// (most of them); the lists are frozen so a shared one cannot be changed.
const DEFAULT_FLAGS = new Map<Record<string, FlagSpec>, FlagValues>();

function defaultFlags(specs: Record<string, FlagSpec>): FlagValues {
  let d = DEFAULT_FLAGS.get(specs);
  if (!d) {
    d = { values: new Map(), lists: new Map(), used: new Set() };
    for (const [name, spec] of Object.entries(specs)) {
      if (spec.kind === 'bool') d.values.set(name, spec.def ?? 'false');
      else if (spec.kind === 'string') d.values.set(name, spec.def ?? '');
      else d.lists.set(name, Object.freeze([]) as unknown as string[]);
    }
    DEFAULT_FLAGS.set(specs, d);
  }
  return d;
}

function parseFlags(ctx: InstructionContext, specs: Record<string, FlagSpec>): FlagValues {
  if (ctx.raw.flags.length === 0) return specs === NO_FLAGS ? EMPTY_FLAGS : defaultFlags(specs);
  const values = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const used = new Set<string>();
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.kind === 'bool') values.set(name, spec.def ?? 'false');
    else if (spec.kind === 'string') values.set(name, spec.def ?? '');
    else lists.set(name, []);
  }
  const flags = ctx.raw.flags;
  const known = Object.keys(specs);
  for (let i = 0; i < flags.length; i++) {
    const a = flags[i] as string;
    const at = ctx.raw.positions.flags[i];
    if (a === '--') break;
    const excerpt = a;
    if (!a.startsWith('--')) ctx.fail(`arg should start with -- : ${a}`, { at, excerpt });
    const eq = a.indexOf('=');
    const flagName = eq < 0 ? a : a.slice(0, eq);
    const hasValue = eq >= 0;
    const value = hasValue ? a.slice(eq + 1) : '';
    const name = flagName.slice(2);
    const spec = specs[name];
    const kw = ctx.raw.command.toUpperCase();
    if (!spec) {
      let fix: string;
      if (known.length === 0) fix = `${kw} takes no flags`;
      else {
        const best = known
          .map((k) => [k, editDistance(name, k)] as const)
          .sort((x, y) => x[1] - y[1])[0] as readonly [string, number];
        fix =
          best[1] <= Math.max(2, Math.floor(name.length / 3))
            ? `did you mean --${best[0]}?`
            : `${kw} takes ${known.map((k) => `--${k}`).join(', ')}`;
      }
      ctx.fail(`unknown flag: ${flagName}`, { at, excerpt, fix });
    }
    if (used.has(name) && spec.kind !== 'strings') {
      ctx.fail(`duplicate flag specified: ${flagName}`, { at, excerpt, fix: 'give the flag once' });
    }
    used.add(name);
    switch (spec.kind) {
      case 'bool': {
        if (hasValue && value === '') {
          ctx.fail(`missing a value on flag: ${flagName}`, { at, excerpt, fix: `write ${flagName} or ${flagName}=false` });
        }
        const v = value.toLowerCase();
        if (v === 'true' || v === '') values.set(name, 'true');
        else if (v === 'false') values.set(name, 'false');
        else {
          ctx.fail(`expecting boolean value for flag ${flagName}, not: ${value}`, {
            at,
            excerpt,
            fix: `write ${flagName}=true or ${flagName}=false`,
          });
        }
        break;
      }
      case 'string':
        if (!hasValue) ctx.fail(`missing a value on flag: ${flagName}`, { at, excerpt, fix: `write ${flagName}=VALUE` });
        values.set(name, value);
        break;
      case 'strings':
        if (!hasValue) ctx.fail(`missing a value on flag: ${flagName}`, { at, excerpt, fix: `write ${flagName}=VALUE` });
        (lists.get(name) as string[]).push(value);
        break;
    }
  }
  return { values, lists, used };
}

// Flag tables per instruction (BuildKit's), built once.
const NO_FLAGS: Record<string, FlagSpec> = {};
const FROM_FLAGS: Record<string, FlagSpec> = { platform: { kind: 'string' } };
const RUN_FLAGS: Record<string, FlagSpec> = {
  mount: { kind: 'strings' },
  network: { kind: 'string', def: 'default' },
  security: { kind: 'string', def: 'sandbox' },
};
const COPY_FLAGS: Record<string, FlagSpec> = {
  chown: { kind: 'string' },
  from: { kind: 'string' },
  chmod: { kind: 'string' },
  link: { kind: 'bool' },
  exclude: { kind: 'strings' },
  parents: { kind: 'bool' },
};
const ADD_FLAGS: Record<string, FlagSpec> = {
  chown: { kind: 'string' },
  chmod: { kind: 'string' },
  link: { kind: 'bool' },
  'keep-git-dir': { kind: 'bool' },
  checksum: { kind: 'string' },
  unpack: { kind: 'bool' },
  exclude: { kind: 'strings' },
};
const HEALTHCHECK_FLAGS: Record<string, FlagSpec> = {
  interval: { kind: 'string' },
  timeout: { kind: 'string' },
  'start-period': { kind: 'string' },
  'start-interval': { kind: 'string' },
  retries: { kind: 'string' },
};

function kvps(ctx: InstructionContext, args: string[], name: string): KeyValuePair[] {
  if (args.length === 0) ctx.failArgs(`${name} requires at least one argument`, `write ${name} NAME=VALUE`);
  if (args.length % 3 !== 0) ctx.failArgs(`Bad input to ${name}, too many arguments`, `write ${name} NAME=VALUE`);
  const out: KeyValuePair[] = [];
  for (let j = 0; j < args.length; j += 3) {
    const key = args[j] as string;
    if (key.length === 0) ctx.failArgs(`${name} names can not be blank`, `write ${name} NAME=VALUE`);
    out.push({ key, value: args[j + 1] as string, noDelim: args[j + 2] === '' });
  }
  return out;
}

function shellForm(raw: RawInstruction): string[] {
  if (raw.args.length === 0) return [];
  if (raw.json) return raw.args;
  return [raw.args.join(' ')];
}

function inlineFiles(raw: RawInstruction): ShellInlineFile[] {
  return raw.heredocs.map((h) => ({
    name: h.name,
    data: h.content,
    chomp: h.chomp,
    expand: h.expand,
    fileDescriptor: h.fileDescriptor,
  }));
}

function sourcesAndDest(
  ctx: InstructionContext,
  kw: string,
): { sourcePaths: string[]; sourceContents: SourceContent[]; dest: string } {
  const args = ctx.raw.args;
  if (args.length < 2) {
    ctx.failArgs(
      `${kw} requires at least two arguments, but ${args.length === 0 ? 'none were' : 'only one was'} provided`,
      `write ${kw} SOURCE... DEST`,
    );
  }
  const dest = args[args.length - 1] as string;
  if (!ctx.raw.json && mustParseHeredocWord(dest)) {
    ctx.failArgs(`${kw} cannot accept a heredoc as a destination`, `put the destination path last: ${kw} <<EOF /path`);
  }
  const byName = new Map(ctx.raw.heredocs.map((h) => [h.name, h]));
  const sourcePaths: string[] = [];
  const sourceContents: SourceContent[] = [];
  for (const src of args.slice(0, -1)) {
    const h = ctx.raw.json ? undefined : mustParseHeredocWord(src);
    if (h) {
      let data = byName.get(h.name)?.content ?? '';
      if (h.chomp) data = chompHeredocContent(data);
      sourceContents.push({ path: h.name, data, expand: h.expand });
    } else {
      sourcePaths.push(src);
    }
  }
  return { sourcePaths, sourceContents, dest };
}

// Go's time.ParseDuration, in nanoseconds.
export function parseGoDuration(s: string): number {
  const units: Record<string, number> = {
    ns: 1,
    us: 1e3,
    'µs': 1e3,
    'μs': 1e3,
    ms: 1e6,
    s: 1e9,
    m: 60e9,
    h: 3600e9,
  };
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new Error(`invalid duration ${JSON.stringify(s)}`);
  let total = 0;
  const re = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (rest !== '') {
    const m = re.exec(rest);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) {
      throw new Error(rest && /^[\d.]/.test(rest) ? `missing unit in duration ${JSON.stringify(s)}` : `invalid duration ${JSON.stringify(s)}`);
    }
    const num = Number(`${m[1] || '0'}.${m[2] ?? '0'}`);
    total += num * (units[m[3] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return Math.round(sign * total);
}

function durationFlag(ctx: InstructionContext, name: string, value: string): number {
  if (value === '') return 0;
  let d: number;
  try {
    d = parseGoDuration(value);
  } catch (err) {
    ctx.fail(`${(err as Error).message} for --${name}`, {
      at: flagPosition(ctx.raw, name),
      excerpt: `--${name}=${value}`,
      fix: `write --${name}=30s (units: ns, us, ms, s, m, h)`,
    });
  }
  if (d === 0) return 0;
  if (d < 1e6) {
    ctx.fail(`Interval "${name}" cannot be less than 1ms`, { at: flagPosition(ctx.raw, name), fix: `give --${name} at least 1ms` });
  }
  return d;
}

function parseRun(ctx: InstructionContext): RunCommand {
  const raw = ctx.raw;
  const f = parseFlags(ctx, RUN_FLAGS);
  const network = f.values.get('network') as string;
  if (!['default', 'none', 'host'].includes(network)) {
    ctx.fail(`invalid network mode ${JSON.stringify(network)}`, {
      at: flagPosition(raw, 'network'),
      fix: 'use --network=default, none or host',
    });
  }
  const security = f.values.get('security') as string;
  if (!['sandbox', 'insecure'].includes(security)) {
    ctx.fail(`security ${JSON.stringify(security)} is not valid`, {
      at: flagPosition(raw, 'security'),
      fix: 'use --security=sandbox or insecure',
    });
  }
  const mountSpecs = f.lists.get('mount') as string[];
  const mounts = mountSpecs.map((spec, i) => parseMountAt(ctx, spec, i));
  return {
    name: raw.command,
    startLine: raw.startLine,
    endLine: raw.endLine,
    code: trimSpace(raw.original),
    raw,
    kind: 'run',
    cmdLine: shellForm(raw),
    prependShell: !raw.json,
    files: inlineFiles(raw),
    mountSpecs,
    mounts,
    network: network as RunCommand['network'],
    security: security as RunCommand['security'],
    flagsUsed: [...f.used],
  };
}

function flagPosition(raw: RawInstruction, name: string, nth = 0): Position | undefined {
  let seen = 0;
  for (let i = 0; i < raw.flags.length; i++) {
    const fl = raw.flags[i] as string;
    if (fl === `--${name}` || fl.startsWith(`--${name}=`)) {
      if (seen === nth) return raw.positions.flags[i];
      seen++;
    }
  }
  return undefined;
}

/** Parses the n-th `--mount` of a RUN, turning option errors into DockerfileErrors. */
function parseMountAt(ctx: InstructionContext, spec: string, nth: number, expand?: (w: string) => string): RunMount {
  try {
    return parseRunMount(spec, ctx.raw.startLine, expand);
  } catch (err) {
    if (err instanceof MountSpecError) {
      ctx.fail(`invalid --mount: ${err.message}`, {
        at: flagPosition(ctx.raw, 'mount', nth),
        excerpt: `--mount=${spec}`,
        fix: err.fix,
      });
    }
    throw err;
  }
}

/**
 * Re-parses the mounts of a RUN with a word expander (the compiler's env),
 * as BuildKit does at dispatch time. Errors carry the RUN's location.
 */
export function expandRunMounts(file: string, cmd: RunCommand, expand: (w: string) => string): RunMount[] {
  const ctx = new InstructionContext(file, cmd.raw);
  return cmd.mountSpecs.map((spec, i) => parseMountAt(ctx, spec, i, expand));
}

function parseCommand(ctx: InstructionContext): Command | Stage {
  const raw = ctx.raw;
  const args = raw.args;
  const KW = raw.command.toUpperCase();
  const noFlags = () => parseFlags(ctx, NO_FLAGS);
  const exactlyOne = () => {
    if (args.length !== 1) ctx.failArgs(`${KW} requires exactly one argument`, `write ${KW} VALUE`);
  };
  switch (raw.keyword) {
    case 'from': {
      const f = parseFlags(ctx, FROM_FLAGS);
      let name = '';
      if (args.length === 3 && (args[1] as string).toLowerCase() === 'as') {
        name = (args[2] as string).toLowerCase();
        if (!STAGE_NAME_RE.test(name)) {
          ctx.failArgs(
            `invalid name for build stage: ${JSON.stringify(args[2])}, name can't start with a number or contain symbols`,
            'use letters, digits, -, _ and ., starting with a letter',
          );
        }
      } else if (args.length !== 1) {
        ctx.failArgs('FROM requires either one or three arguments', 'write FROM IMAGE or FROM IMAGE AS NAME');
      }
      return {
        index: -1,
        name,
        baseName: args[0] as string,
        platform: f.values.get('platform') as string,
        line: raw.startLine,
        endLine: raw.endLine,
        origCmd: raw.command,
        code: trimSpace(raw.original),
        commands: [],
        raw,
      };
    }
    case 'run':
      return parseRun(ctx);
    case 'cmd':
    case 'entrypoint': {
      noFlags();
      const cmdLine = shellForm(raw);
      if (raw.keyword === 'cmd') {
        return {
          name: raw.command,
          startLine: raw.startLine,
          endLine: raw.endLine,
          code: trimSpace(raw.original),
          raw,
          kind: 'cmd',
          cmdLine,
          prependShell: !raw.json,
          files: inlineFiles(raw),
        };
      }
      return {
        name: raw.command,
        startLine: raw.startLine,
        endLine: raw.endLine,
        code: trimSpace(raw.original),
        raw,
        kind: 'entrypoint',
        cmdLine: cmdLine.length === 0 ? null : cmdLine,
        prependShell: !raw.json,
        files: inlineFiles(raw),
      };
    }
    case 'copy': {
      if (args.length < 2) sourcesAndDest(ctx, KW);
      const f = parseFlags(ctx, COPY_FLAGS);
      return {
        name: raw.command,
        startLine: raw.startLine,
        endLine: raw.endLine,
        code: trimSpace(raw.original),
        raw,
        kind: 'copy',
        ...sourcesAndDest(ctx, KW),
        from: f.values.get('from') as string,
        chown: f.values.get('chown') as string,
        chmod: f.values.get('chmod') as string,
        link: f.values.get('link') === 'true',
        parents: f.values.get('parents') === 'true',
        exclude: f.lists.get('exclude') as string[],
      };
    }
    case 'add': {
      if (args.length < 2) sourcesAndDest(ctx, KW);
      const f = parseFlags(ctx, ADD_FLAGS);
      return {
        name: raw.command,
        startLine: raw.startLine,
        endLine: raw.endLine,
        code: trimSpace(raw.original),
        raw,
        kind: 'add',
        ...sourcesAndDest(ctx, KW),
        chown: f.values.get('chown') as string,
        chmod: f.values.get('chmod') as string,
        link: f.values.get('link') === 'true',
        exclude: f.lists.get('exclude') as string[],
        checksum: f.values.get('checksum') as string,
        keepGitDir: f.used.has('keep-git-dir') ? f.values.get('keep-git-dir') === 'true' : null,
        unpack: f.used.has('unpack') ? f.values.get('unpack') === 'true' : null,
      };
    }
    case 'env':
      noFlags();
      return {
        name: raw.command,
        startLine: raw.startLine,
        endLine: raw.endLine,
        code: trimSpace(raw.original),
        raw,
        kind: 'env',
        env: kvps(ctx, args, 'ENV'),
      };
    case 'label':
      noFlags();
      return {
        name: raw.command,
        startLine: raw.startLine,
        endLine: raw.endLine,
        code: trimSpace(raw.original),
        raw,
        kind: 'label',
        labels: kvps(ctx, args, 'LABEL'),
      };
    case 'arg': {
      noFlags();
      if (args.length < 1) ctx.failArgs('ARG requires at least one argument', 'write ARG NAME or ARG NAME=DEFAULT');
      const defs: ArgDefinition[] = args.map((a) => {
        const eq = a.indexOf('=');
        if (eq < 0) return { key: a, value: null };
        if (eq === 0) ctx.failArgs('ARG names can not be blank', 'write ARG NAME=DEFAULT');
        return { key: a.slice(0, eq), value: a.slice(eq + 1) };
      });
      return {
        name: raw.command,
        startLine: raw.startLine,
        endLine: raw.endLine,
        code: trimSpace(raw.original),
        raw,
        kind: 'arg',
        args: defs,
      };
    }
    case 'expose':
      if (args.length === 0) ctx.failArgs('EXPOSE requires at least one argument', 'write EXPOSE PORT[/PROTO]');
      noFlags();
      return {
        name: raw.command,
        startLine: raw.startLine,
        endLine: raw.endLine,
        code: trimSpace(raw.original),
        raw,
        kind: 'expose',
        ports: [...args].sort(),
      };
    case 'workdir':
      exactlyOne();
      noFlags();
      return {
        name: raw.command,
        startLine: raw.startLine,
        endLine: raw.endLine,
        code: trimSpace(raw.original),
        raw,
        kind: 'workdir',
        path: args[0] as string,
      };
    case 'user':
      exactlyOne();
      noFlags();
      return {
        name: raw.command,
        startLine: raw.startLine,
        endLine: raw.endLine,
        code: trimSpace(raw.original),
        raw,
        kind: 'user',
        user: args[0] as string,
      };
    case 'maintainer':
      exactlyOne();
      noFlags();
      return {
        name: raw.command,
        startLine: raw.startLine,
        endLine: raw.endLine,
        code: trimSpace(raw.original),
        raw,
        kind: 'maintainer',
        maintainer: args[0] as string,
      };
    case 'stopsignal':
      exactlyOne();
      noFlags();
      return {
        name: raw.command,
        startLine: raw.startLine,
        endLine: raw.endLine,
        code: trimSpace(raw.original),
        raw,
        kind: 'stopsignal',
        signal: args[0] as string,
      };
    case 'volume': {
      if (args.length === 0) ctx.failArgs('VOLUME requires at least one argument', 'write VOLUME /path');
      noFlags();
      const volumes = args.map((v) => {
        const t = trimSpace(v);
        if (t === '') ctx.failArgs('VOLUME specified can not be an empty string', 'give a path');
        return t;
      });
      return {
        name: raw.command,
        startLine: raw.startLine,
        endLine: raw.endLine,
        code: trimSpace(raw.original),
        raw,
        kind: 'volume',
        volumes,
      };
    }
    case 'shell': {
      noFlags();
      const shell = shellForm(raw);
      if (shell.length === 0) ctx.failArgs('SHELL requires at least one argument', 'write SHELL ["/bin/sh", "-c"]');
      if (!raw.json) {
        ctx.failArgs('SHELL requires the arguments to be in JSON form', 'write SHELL ["executable", "param1"]');
      }
      return {
        name: raw.command,
        startLine: raw.startLine,
        endLine: raw.endLine,
        code: trimSpace(raw.original),
        raw,
        kind: 'shell',
        shell,
      };
    }
    case 'healthcheck':
      return parseHealthcheck(ctx);
    case 'onbuild': {
      if (!raw.next) ctx.failArgs('ONBUILD requires at least one argument', 'write ONBUILD INSTRUCTION ...');
      noFlags();
      const trigger = raw.next.command.toUpperCase();
      if (trigger === 'ONBUILD') ctx.failArgs('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed', 'use one ONBUILD');
      if (trigger === 'MAINTAINER' || trigger === 'FROM') {
        ctx.failArgs(`${trigger} isn't allowed as an ONBUILD trigger`, 'use another instruction');
      }
      // Validate the trigger now rather than when a child image is built.
      parseCommand(new InstructionContext(ctx.file, { ...raw.next, heredocs: raw.heredocs }));
      let expression = raw.original.replace(/^\s*ONBUILD\s*/i, '');
      for (const h of raw.heredocs) expression += `\n${h.content}${h.name}`;
      return {
        name: raw.command,
        startLine: raw.startLine,
        endLine: raw.endLine,
        code: trimSpace(raw.original),
        raw,
        kind: 'onbuild',
        expression,
        trigger: raw.next,
      };
    }
    default: {
      const best = INSTRUCTION_NAMES.map((n) => [n, editDistance(raw.keyword, n)] as const).sort((a, b) => a[1] - b[1])[0];
      const fix =
        best && best[1] <= 2
          ? `did you mean ${best[0].toUpperCase()}?`
          : 'see the Dockerfile reference for the instructions';
      ctx.fail(`unknown instruction: ${raw.command}`, { excerpt: trimSpace(raw.original), fix });
    }
  }
}

function parseHealthcheck(ctx: InstructionContext): HealthcheckCommand {
  const raw = ctx.raw;
  const args = raw.args;
  if (args.length === 0) ctx.failArgs('HEALTHCHECK requires at least one argument', 'write HEALTHCHECK CMD command or HEALTHCHECK NONE');
  const typ = (args[0] as string).toUpperCase();
  const rest = args.slice(1);
  if (typ === 'NONE') {
    if (rest.length !== 0) ctx.failArgs('HEALTHCHECK NONE takes no arguments', 'remove the arguments after NONE');
    if (raw.flags.length > 0) {
      ctx.fail('HEALTHCHECK NONE takes no flags', {
        at: raw.positions.flags[0],
        excerpt: raw.flags[0],
        fix: 'remove the flags, or use HEALTHCHECK [flags] CMD command',
      });
    }
    return {
      name: raw.command,
      startLine: raw.startLine,
      endLine: raw.endLine,
      code: trimSpace(raw.original),
      raw,
      kind: 'healthcheck',
      health: { test: ['NONE'], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 },
    };
  }
  const f = parseFlags(ctx, HEALTHCHECK_FLAGS);
  if (typ !== 'CMD') ctx.failArgs(`Unknown type ${JSON.stringify(typ)} in HEALTHCHECK (try CMD)`, 'write HEALTHCHECK CMD command');
  const cmd = rest.length === 0 ? [] : raw.json ? rest : [rest.join(' ')];
  if (cmd.length === 0) ctx.failArgs('Missing command after HEALTHCHECK CMD', 'write HEALTHCHECK CMD command');
  let retries = 0;
  const r = f.values.get('retries') as string;
  if (r !== '') {
    const at = flagPosition(raw, 'retries');
    if (!/^[+-]?\d+$/.test(r)) ctx.fail(`invalid --retries ${JSON.stringify(r)}`, { at, fix: 'give --retries a whole number' });
    retries = Number(r);
    if (retries < 0) ctx.fail(`--retries cannot be negative (${retries})`, { at, fix: 'give --retries 0 or more' });
  }
  return {
    name: raw.command,
    startLine: raw.startLine,
    endLine: raw.endLine,
    code: trimSpace(raw.original),
    raw,
    kind: 'healthcheck',
    health: {
      test: [raw.json ? 'CMD' : 'CMD-SHELL', ...cmd],
      interval: durationFlag(ctx, 'interval', f.values.get('interval') as string),
      timeout: durationFlag(ctx, 'timeout', f.values.get('timeout') as string),
      startPeriod: durationFlag(ctx, 'start-period', f.values.get('start-period') as string),
      startInterval: durationFlag(ctx, 'start-interval', f.values.get('start-interval') as string),
      retries,
    },
  };
}

/** Types one raw instruction (FROM gives a Stage). */
export function parseInstruction(raw: RawInstruction, file = 'Dockerfile'): Command | Stage {
  return parseCommand(new InstructionContext(file, raw));
}

/** Types a whole raw tree: global ARGs, then stages with their commands. */
export function parseInstructions(tree: RawDockerfile): DockerfileInstructions {
  const stages: Stage[] = [];
  const metaArgs: ArgCommand[] = [];
  for (const raw of tree.instructions) {
    const ctx = new InstructionContext(tree.file, raw);
    const c = parseCommand(ctx);
    if ('kind' in c) {
      if (stages.length === 0) {
        if (c.kind === 'arg') {
          metaArgs.push(c);
          continue;
        }
        ctx.fail(`${raw.command.toUpperCase()} comes before the first FROM`, {
          fix: 'only ARG may precede FROM; move it below a FROM line',
        });
      }
      (stages[stages.length - 1] as Stage).commands.push(c);
    } else {
      c.index = stages.length;
      stages.push(c);
    }
  }
  for (const s of stages) {
    const last = s.commands[s.commands.length - 1];
    s.endLine = last ? last.endLine : s.raw.endLine;
  }
  return { file: tree.file, escape: tree.escape, directives: tree.directives, metaArgs, stages, warnings: tree.warnings };
}
