// What a Dockerfile needs before it is built: its stages and which of them a
// target depends on, the build args it declares with their defaults, and
// every secret it mounts (id, target, env, required, mode, uid, gid). Pure;
// it knows secret ids and paths, never secret values.
import { DockerfileError } from './errors.js';
import { resolveGlobalArgs, StageScope } from './expansion.js';
import type { DockerfileInstructions, Stage } from './instructions.js';
import type { RunMount, SecretMount, SshMount } from './mounts.js';
import { processWord } from './shell-lex.js';

export interface OutlineStage {
  index: number;
  /** The AS name, or '' when unnamed. */
  name: string;
  /** The base image or stage, with global ARG defaults substituted where possible. */
  base: string;
  /** The FROM expression as written. */
  baseExpression: string;
  platform: string;
  line: number;
  /** True when the target needs this stage. */
  needed: boolean;
  /** Stages this one builds on (FROM, COPY --from, RUN --mount from=), by index. */
  dependsOn: number[];
}

export interface OutlineBuildArg {
  name: string;
  /** The default as written, or null when the ARG has none. */
  default: string | null;
  /** '' for a global ARG (before the first FROM), else the stage's name or index. */
  stage: string;
  line: number;
}

export interface OutlineSecret extends Pick<SecretMount, 'id' | 'target' | 'env' | 'required' | 'mode' | 'uid' | 'gid'> {
  /** The stage's name, or its index as a string when unnamed. */
  stage: string;
  line: number;
  /** True when the target needs the stage that mounts it. */
  needed: boolean;
}

export interface OutlineSsh {
  id: string;
  required: boolean;
  stage: string;
  line: number;
  needed: boolean;
}

export interface DockerfileOutline {
  /** The target stage's label (name or index). */
  target: string;
  stages: OutlineStage[];
  buildArgs: OutlineBuildArg[];
  secrets: OutlineSecret[];
  ssh: OutlineSsh[];
}

export interface OutlineOptions {
  /** Stage name to build; defaults to the last stage. */
  target?: string;
  /** Build-arg values, used to resolve base names that use global ARGs. */
  buildArgs?: ReadonlyMap<string, string>;
}

export function stageLabel(stage: Stage): string {
  return stage.name !== '' ? stage.name : String(stage.index);
}

/** Finds the stage a `--target` names, or throws a DockerfileError listing the names. */
export function findTargetStage(ins: DockerfileInstructions, target?: string): Stage {
  if (ins.stages.length === 0) {
    throw new DockerfileError({
      file: ins.file,
      at: { line: 1, column: 1 },
      problem: 'the Dockerfile has no FROM line',
      excerpt: '',
      fix: 'start a stage with FROM IMAGE',
    });
  }
  if (target === undefined || target === '') return ins.stages[ins.stages.length - 1] as Stage;
  // A later stage with the same name shadows an earlier one, as in BuildKit.
  const s = ins.stages.findLast((st) => st.name !== '' && st.name === target.toLowerCase());
  if (!s) {
    const names = ins.stages.filter((st) => st.name !== '').map((st) => st.name);
    throw new DockerfileError({
      file: ins.file,
      at: { line: 1, column: 1 },
      problem: `target stage ${JSON.stringify(target)} could not be found`,
      excerpt: '',
      fix: names.length ? `the named stages are ${names.join(', ')}` : 'name a stage with FROM IMAGE AS NAME',
    });
  }
  return s;
}

/**
 * Indices of the stages each stage builds on. Names resolve as in BuildKit:
 * to the latest earlier stage of that name; a FROM matches a stage name
 * exactly (case-sensitively), COPY --from and mount from= in any case.
 */
export function stageDependencies(ins: DockerfileInstructions, globalArgs: ReadonlyMap<string, string>): number[][] {
  const deps: number[][] = [];
  const byName = new Map<string, number>();
  for (const st of ins.stages) {
    const d = new Set<number>();
    const base = byName.get(expandQuiet(st.baseName, globalArgs, ins.escape));
    if (base !== undefined) d.add(base);
    const ref = (from: string) => {
      if (from === '') return;
      if (/^\d+$/.test(from)) {
        const n = Number(from);
        if (n < st.index) d.add(n);
        return;
      }
      const s = byName.get(from.toLowerCase());
      if (s !== undefined) d.add(s);
    };
    for (const c of st.commands) {
      if (c.kind === 'copy') ref(c.from);
      if (c.kind === 'run') for (const m of c.mounts) if (m.type === 'bind' || m.type === 'cache') ref(m.from);
    }
    deps.push([...d].sort((x, y) => x - y));
    if (st.name !== '') byName.set(st.name, st.index);
  }
  return deps;
}

function expandQuiet(word: string, env: ReadonlyMap<string, string>, escape: string): string {
  if (!word.includes('$') && !word.includes('"') && !word.includes("'") && !word.includes(escape)) return word;
  try {
    return processWord(word, { get: (k) => env.get(k) }, { escape }).result;
  } catch {
    return word;
  }
}

/** The outline of a typed Dockerfile for one target. */
export function outline(ins: DockerfileInstructions, options: OutlineOptions = {}): DockerfileOutline {
  const target = findTargetStage(ins, options.target);
  let globalArgs: Map<string, string>;
  try {
    globalArgs = resolveGlobalArgs(ins.metaArgs, options.buildArgs ?? new Map(), { escape: ins.escape, file: ins.file });
  } catch {
    globalArgs = new Map();
  }
  const deps = stageDependencies(ins, globalArgs);
  const needed = new Set<number>();
  const visit = (i: number) => {
    if (needed.has(i)) return;
    needed.add(i);
    for (const d of deps[i] ?? []) visit(d);
  };
  visit(target.index);

  const stages: OutlineStage[] = ins.stages.map((st) => ({
    index: st.index,
    name: st.name,
    base: expandQuiet(st.baseName, globalArgs, ins.escape),
    baseExpression: st.baseName,
    platform: st.platform,
    line: st.line,
    needed: needed.has(st.index),
    dependsOn: deps[st.index] ?? [],
  }));

  const buildArgs: OutlineBuildArg[] = [];
  for (const a of ins.metaArgs) {
    for (const d of a.args) buildArgs.push({ name: d.key, default: d.value, stage: '', line: a.startLine });
  }
  const secrets: OutlineSecret[] = [];
  const ssh: OutlineSsh[] = [];
  for (const st of ins.stages) {
    const label = stageLabel(st);
    const expanded = expandedMounts(st, globalArgs, options.buildArgs ?? new Map(), ins);
    for (const c of st.commands) {
      if (c.kind === 'arg') {
        for (const d of c.args) buildArgs.push({ name: d.key, default: d.value, stage: label, line: c.startLine });
      }
      if (c.kind !== 'run') continue;
      for (const m of expanded.get(c) ?? c.mounts) {
        if (m.type === 'secret') secrets.push(secretEntry(m, label, needed.has(st.index)));
        if (m.type === 'ssh') ssh.push(sshEntry(m, label, needed.has(st.index)));
      }
    }
  }
  return { target: stageLabel(target), stages, buildArgs, secrets, ssh };
}

// Mounts whose options use variables (`id=$SID`) are resolved with the
// stage's ARG/ENV values, so the outline names the ids a build would ask for.
// A word that cannot be expanded keeps its literal mounts.
function expandedMounts(
  st: Stage,
  globalArgs: ReadonlyMap<string, string>,
  buildArgs: ReadonlyMap<string, string>,
  ins: DockerfileInstructions,
): Map<object, RunMount[]> {
  const out = new Map<object, RunMount[]>();
  const needs = st.commands.some((c) => c.kind === 'run' && c.mounts.some((m) => m.unexpanded || m.spec.includes('$')));
  if (!needs) return out;
  const scope = new StageScope({ globalArgs, buildArgs, escape: ins.escape, file: ins.file });
  for (const c of st.commands) {
    try {
      const r = scope.step(c);
      if (c.kind === 'run' && r.mounts) out.set(c, r.mounts);
    } catch {
      // Left as written; the build reports the error with its location.
    }
  }
  return out;
}

function secretEntry(m: SecretMount, stage: string, needed: boolean): OutlineSecret {
  return {
    id: m.id,
    target: m.target,
    env: m.env,
    required: m.required,
    mode: m.mode,
    uid: m.uid,
    gid: m.gid,
    stage,
    line: m.line,
    needed,
  };
}

function sshEntry(m: SshMount, stage: string, needed: boolean): OutlineSsh {
  return { id: m.id, required: m.required, stage, line: m.line, needed };
}

/** Mode as written in a Dockerfile: `0400`. */
export function formatMode(mode: number): string {
  return '0' + mode.toString(8).padStart(3, '0');
}
