// Variable expansion at build time: which instructions expand which words
// (BuildKit's rule table), the ARG/ENV scopes that supply the values, and
// `expandCommand`, which returns a command with its words expanded. Pure: the
// values come from build args and the Dockerfile, never from the process.
// Expansion errors are DockerfileErrors naming the instruction; they quote the
// Dockerfile word, never an expanded value (a build arg could be sensitive).
import { DockerfileError } from './errors.js';
import type {
  AddCommand,
  ArgCommand,
  ArgDefinition,
  Command,
  CommandKind,
  CopyCommand,
  KeyValuePair,
  RunCommand,
  Stage,
} from './instructions.js';
import { expandRunMounts } from './instructions.js';
import type { RunMount } from './mounts.js';
import { trimSpace, type RawInstruction } from './parser.js';
import { processWord, ShellSyntaxError, type EnvLookup } from './shell-lex.js';

/** How one instruction's words are expanded. */
export interface ExpansionRule {
  /** Fields of the typed command (or Stage for `from`) that are expanded. */
  fields: readonly string[];
  /** `word`: one string; `words`: split into fields; `none`: never expanded (the shell does it at run time). */
  mode: 'word' | 'words' | 'none';
  /** Which variables are visible: global ARGs (FROM only) or the stage's ARG and ENV values. */
  scope: 'global' | 'stage';
  /** Heredoc sources whose delimiter was not quoted are expanded with quotes kept. */
  heredocContents?: boolean;
}

/** BuildKit's table of which instructions expand variables, and in which fields. */
export const EXPANSION_RULES: Readonly<Record<CommandKind | 'from', ExpansionRule>> = {
  from: { fields: ['baseName', 'platform'], mode: 'word', scope: 'global' },
  arg: { fields: ['args[].value'], mode: 'word', scope: 'stage' },
  env: { fields: ['env[].key', 'env[].value'], mode: 'word', scope: 'stage' },
  label: { fields: ['labels[].key', 'labels[].value'], mode: 'word', scope: 'stage' },
  copy: { fields: ['sourcePaths[]', 'dest', 'chown', 'chmod'], mode: 'word', scope: 'stage', heredocContents: true },
  add: {
    fields: ['sourcePaths[]', 'dest', 'chown', 'chmod', 'checksum'],
    mode: 'word',
    scope: 'stage',
    heredocContents: true,
  },
  workdir: { fields: ['path'], mode: 'word', scope: 'stage' },
  user: { fields: ['user'], mode: 'word', scope: 'stage' },
  volume: { fields: ['volumes[]'], mode: 'word', scope: 'stage' },
  stopsignal: { fields: ['signal'], mode: 'word', scope: 'stage' },
  expose: { fields: ['ports[]'], mode: 'words', scope: 'stage' },
  run: { fields: ['mounts[] option values'], mode: 'word', scope: 'stage' },
  cmd: { fields: [], mode: 'none', scope: 'stage' },
  entrypoint: { fields: [], mode: 'none', scope: 'stage' },
  shell: { fields: [], mode: 'none', scope: 'stage' },
  healthcheck: { fields: [], mode: 'none', scope: 'stage' },
  onbuild: { fields: [], mode: 'none', scope: 'stage' },
  maintainer: { fields: [], mode: 'none', scope: 'stage' },
};

/** Whether an instruction keyword (lower-case) expands variables at all. */
export function expandsVariables(keyword: string): boolean {
  const rule = (EXPANSION_RULES as Record<string, ExpansionRule | undefined>)[keyword];
  return rule !== undefined && rule.mode !== 'none';
}

function expansionError(file: string, raw: RawInstruction, word: string, err: ShellSyntaxError): never {
  if (err.requiredVariable !== undefined) {
    // The `${v:?message}` text is itself expanded and could hold a build-arg
    // value, so the error quotes the Dockerfile's word instead.
    throw new DockerfileError({
      file,
      at: raw.positions.args,
      problem: `${JSON.stringify(word)} requires ${err.requiredVariable} to be set`,
      excerpt: trimSpace(raw.original),
      fix: `pass --build-arg ${err.requiredVariable}=VALUE or give the ARG a default`,
    });
  }
  throw new DockerfileError({
    file,
    at: raw.positions.args,
    problem: err.message.replace(/^failed to process "(?:[^"\\]|\\.)*": /, `cannot expand ${JSON.stringify(word)}: `),
    excerpt: trimSpace(raw.original),
    fix: 'check the ${...} syntax and quoting of that word',
  });
}

/** Expands words against one set of variables, with the Dockerfile's escape token. */
export class WordExpander {
  constructor(
    readonly env: EnvLookup,
    readonly escape: string = '\\',
    readonly file: string = 'Dockerfile',
  ) {}

  /** One word → one string (quotes removed, variables substituted). */
  word(word: string, raw: RawInstruction): string {
    try {
      return processWord(word, this.env, { escape: this.escape }).result;
    } catch (err) {
      if (err instanceof ShellSyntaxError) expansionError(this.file, raw, word, err);
      throw err;
    }
  }

  /** One word → fields, split on unquoted whitespace after substitution. */
  words(word: string, raw: RawInstruction): string[] {
    try {
      return processWord(word, this.env, { escape: this.escape }).words;
    } catch (err) {
      if (err instanceof ShellSyntaxError) expansionError(this.file, raw, word, err);
      throw err;
    }
  }

  /** Heredoc content: variables substituted, quotes and escapes kept as text. */
  raw(content: string, raw: RawInstruction): string {
    try {
      return processWord(content, this.env, { escape: '\\', skipProcessQuotes: true }).result;
    } catch (err) {
      if (err instanceof ShellSyntaxError) expansionError(this.file, raw, content, err);
      throw err;
    }
  }

  /** Names referenced by a word that are not set (for lint: undefined variables). */
  unmatched(word: string): string[] {
    try {
      return [...processWord(word, this.env, { escape: this.escape }).unmatched];
    } catch {
      return [];
    }
  }
}

/** Values of the global ARGs (before the first FROM), as FROM lines see them. */
export function resolveGlobalArgs(
  metaArgs: readonly ArgCommand[],
  buildArgs: ReadonlyMap<string, string>,
  options: { escape?: string; file?: string; predefined?: ReadonlyMap<string, string> } = {},
): Map<string, string> {
  const scope = new Map<string, string>(options.predefined ?? []);
  const ex = new WordExpander({ get: (k) => scope.get(k) }, options.escape ?? '\\', options.file);
  for (const cmd of metaArgs) {
    for (const a of cmd.args) {
      const given = buildArgs.get(a.key);
      if (given !== undefined) scope.set(a.key, given);
      else if (a.value !== null) scope.set(a.key, ex.word(a.value, cmd.raw));
    }
  }
  return scope;
}

/** FROM's base image and platform with global ARGs substituted. */
export function expandStageBase(
  stage: Stage,
  globalArgs: ReadonlyMap<string, string>,
  options: { escape?: string; file?: string } = {},
): { baseName: string; platform: string } {
  const ex = new WordExpander({ get: (k) => globalArgs.get(k) }, options.escape ?? '\\', options.file);
  const baseName = ex.word(stage.baseName, stage.raw);
  if (baseName === '') {
    throw new DockerfileError({
      file: options.file ?? 'Dockerfile',
      at: stage.raw.positions.args,
      problem: `base name (${stage.baseName}) should not be blank`,
      excerpt: stage.code,
      fix: 'give the ARG a default or pass it with --build-arg',
    });
  }
  return { baseName, platform: stage.platform === '' ? '' : ex.word(stage.platform, stage.raw) };
}

/** An ARG as resolved in a stage. */
export interface ResolvedArg {
  key: string;
  /** The value in effect, or null when the ARG is declared without a value. */
  value: string | null;
  source: 'build-arg' | 'default' | 'global' | 'none';
}

/**
 * The variables of one stage as instructions run: ARG values and ENV values,
 * in order, later assignments winning. A global ARG is visible only after the
 * stage redeclares it; ENV values also go to the image config, ARG values do not.
 */
export class StageScope {
  /** What expansion (and RUN's environment) sees. */
  readonly env = new Map<string, string>();
  /** ENV values only, in first-set order (the image config's Env). */
  readonly imageEnv = new Map<string, string>();
  /** ARGs declared so far in this stage. */
  readonly declaredArgs = new Map<string, ResolvedArg>();
  readonly expander: WordExpander;

  constructor(
    private readonly options: {
      globalArgs: ReadonlyMap<string, string>;
      buildArgs: ReadonlyMap<string, string>;
      escape?: string;
      file?: string;
      /** Env inherited from the base image config, `KEY=VALUE` entries. */
      baseEnv?: readonly string[];
    },
  ) {
    for (const e of options.baseEnv ?? []) {
      const eq = e.indexOf('=');
      const k = eq < 0 ? e : e.slice(0, eq);
      const v = eq < 0 ? '' : e.slice(eq + 1);
      this.env.set(k, v);
      this.imageEnv.set(k, v);
    }
    this.expander = new WordExpander({ get: (k) => this.env.get(k) }, options.escape ?? '\\', options.file);
  }

  get lookup(): EnvLookup {
    return { get: (k) => this.env.get(k) };
  }

  /** Declares the ARGs of one instruction and returns how each resolved. */
  declareArgs(cmd: ArgCommand): ResolvedArg[] {
    const out: ResolvedArg[] = [];
    for (const a of cmd.args) {
      const r = this.resolveArg(a, cmd);
      if (r.value !== null) this.env.set(r.key, r.value);
      this.declaredArgs.set(r.key, r);
      out.push(r);
    }
    return out;
  }

  private resolveArg(a: ArgDefinition, cmd: ArgCommand): ResolvedArg {
    const given = this.options.buildArgs.get(a.key);
    if (given !== undefined) return { key: a.key, value: given, source: 'build-arg' };
    if (a.value !== null) return { key: a.key, value: this.expander.word(a.value, cmd.raw), source: 'default' };
    const g = this.options.globalArgs.get(a.key);
    if (g !== undefined) return { key: a.key, value: g, source: 'global' };
    return { key: a.key, value: null, source: 'none' };
  }

  /** Applies already-expanded ENV pairs. */
  setEnv(pairs: readonly KeyValuePair[]): void {
    for (const p of pairs) {
      this.env.set(p.key, p.value);
      this.imageEnv.set(p.key, p.value);
    }
  }

  /**
   * Expands `cmd` with the variables in effect before it, then applies it to
   * the scope if it is an ARG or ENV. Returns the expanded command.
   */
  step(cmd: Command): { command: Command; mounts?: RunMount[]; args?: ResolvedArg[] } {
    if (cmd.kind === 'arg') return { command: cmd, args: this.declareArgs(cmd) };
    const expanded = expandCommand(cmd, this.expander, this.options.file ?? 'Dockerfile');
    if (expanded.kind === 'env') this.setEnv(expanded.env);
    if (expanded.kind === 'run') return { command: expanded, mounts: expanded.mounts };
    return { command: expanded };
  }
}

function expandSources<T extends CopyCommand | AddCommand>(cmd: T, ex: WordExpander): T {
  const w = (s: string) => ex.word(s, cmd.raw);
  return {
    ...cmd,
    sourcePaths: cmd.sourcePaths.map(w),
    dest: w(cmd.dest),
    chown: w(cmd.chown),
    chmod: w(cmd.chmod),
    sourceContents: cmd.sourceContents.map((c) => (c.expand ? { ...c, data: ex.raw(c.data, cmd.raw) } : c)),
  };
}

/**
 * Returns `cmd` with the words that BuildKit expands replaced by their
 * values (see EXPANSION_RULES). ARG is returned unchanged: use StageScope.
 */
export function expandCommand(cmd: Command, ex: WordExpander, file = 'Dockerfile'): Command {
  const w = (s: string) => ex.word(s, cmd.raw);
  switch (cmd.kind) {
    case 'env':
      return { ...cmd, env: cmd.env.map((p) => ({ ...p, key: w(p.key), value: w(p.value) })) };
    case 'label':
      return { ...cmd, labels: cmd.labels.map((p) => ({ ...p, key: w(p.key), value: w(p.value) })) };
    case 'copy':
      return expandSources(cmd, ex);
    case 'add': {
      const c = expandSources(cmd, ex);
      return { ...c, checksum: w(cmd.checksum) };
    }
    case 'workdir':
      return { ...cmd, path: w(cmd.path) };
    case 'user':
      return { ...cmd, user: w(cmd.user) };
    case 'volume':
      return { ...cmd, volumes: cmd.volumes.map(w) };
    case 'stopsignal':
      return { ...cmd, signal: w(cmd.signal) };
    case 'expose':
      return { ...cmd, ports: cmd.ports.flatMap((p) => ex.words(p, cmd.raw)) };
    case 'run': {
      const mounts = expandRunMounts(file, cmd as RunCommand, w);
      return { ...cmd, mounts };
    }
    default:
      return cmd;
  }
}
