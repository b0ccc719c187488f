// The fixture corpus: each folder under test/fixtures/dockerfile/ holds a
// Dockerfile and expected.json. `describeCase` computes what the frontend
// makes of a case; the corpus test compares it with expected.json, and
// write-expected.ts writes it for a new case (review it before committing).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DockerfileError,
  expandStageBase,
  parse,
  parseInstructions,
  resolveGlobalArgs,
  StageScope,
  toRawTreeJson,
  type Command,
  type Stage,
} from '../../src/dockerfile/index.js';
import { check } from '../../src/dockerfile/lint.js';
import { findTargetStage, outline } from '../../src/dockerfile/outline.js';

export const CORPUS_DIR = fileURLToPath(new URL('../fixtures/dockerfile/', import.meta.url));

export interface CaseOptions {
  /** Build args for expansion and outline. */
  buildArgs?: Record<string, string>;
  target?: string;
  /** Secret ids given to check. */
  secrets?: string[];
  /** Compute the target stage's expanded commands and final env. */
  expand?: boolean;
  /** Include the outline. */
  outline?: boolean;
  /** Include the lint findings. */
  check?: boolean;
}

export interface CaseExpectation {
  description?: string;
  options?: CaseOptions;
  error?: string;
  tree?: unknown;
  stages?: unknown;
  expanded?: unknown;
  outline?: unknown;
  findings?: unknown;
}

export function listCases(): string[] {
  return readdirSync(CORPUS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

export function readCase(name: string): { text: string; expected: CaseExpectation | undefined } {
  const dir = join(CORPUS_DIR, name);
  const text = readFileSync(join(dir, 'Dockerfile'), 'utf8');
  const p = join(dir, 'expected.json');
  return { text, expected: existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as CaseExpectation) : undefined };
}

// Commands without back-references to the raw tree (already in `tree`).
function plainCommand(c: Command): Record<string, unknown> {
  const { raw: _raw, code: _code, ...rest } = c as Command & { raw: unknown; code: unknown };
  if (rest.kind === 'onbuild') delete (rest as Record<string, unknown>).trigger;
  return rest;
}

function plainStage(s: Stage): Record<string, unknown> {
  return {
    index: s.index,
    name: s.name,
    baseName: s.baseName,
    platform: s.platform,
    line: s.line,
    endLine: s.endLine,
    commands: s.commands.map(plainCommand),
  };
}

/** What the frontend makes of one case, in the shape of expected.json. */
export function describeCase(text: string, options: CaseOptions = {}, description?: string): CaseExpectation {
  const out: CaseExpectation = {};
  if (description) out.description = description;
  if (Object.keys(options).length) out.options = options;
  try {
    const tree = parse(text, { file: 'Dockerfile' });
    const ins = parseInstructions(tree);
    out.tree = toRawTreeJson(tree);
    out.stages = { metaArgs: ins.metaArgs.map(plainCommand), stages: ins.stages.map(plainStage) };
    const buildArgs = new Map(Object.entries(options.buildArgs ?? {}));
    if (options.expand) {
      const globalArgs = resolveGlobalArgs(ins.metaArgs, buildArgs, { escape: ins.escape });
      const st = findTargetStage(ins, options.target);
      const scope = new StageScope({ globalArgs, buildArgs, escape: ins.escape });
      const commands = st.commands.map((c) => plainCommand(scope.step(c).command));
      out.expanded = {
        globalArgs: Object.fromEntries(globalArgs),
        base: expandStageBase(st, globalArgs, { escape: ins.escape }),
        commands,
        env: Object.fromEntries(scope.env),
        imageEnv: Object.fromEntries(scope.imageEnv),
      };
    }
    if (options.outline) out.outline = outline(ins, { target: options.target, buildArgs });
    if (options.check) {
      out.findings = check(ins, options.secrets ? { givenSecrets: options.secrets } : {}).map((f) => ({
        rule: f.rule,
        severity: f.severity,
        line: f.line,
        stage: f.stage,
        message: f.message,
      }));
    }
  } catch (err) {
    if (!(err instanceof DockerfileError)) throw err;
    const keep: CaseExpectation = {};
    if (out.description) keep.description = out.description;
    if (out.options) keep.options = out.options;
    keep.error = err.message;
    return keep;
  }
  return out;
}
