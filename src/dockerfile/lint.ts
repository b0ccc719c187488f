// `hangar dockerfile check`: findings about how a Dockerfile handles secrets
// (names that look secret in ARG/ENV, secrets copied or redirected into the
// image, echoed or traced to the build log, read without a mount, required
// but not given, given but never mounted), a `# syntax` that needs a pull and
// empty continuation lines. Pure and heuristic about shell text (a flow
// check, not a shell); it sees secret ids and paths, never values.
import type { Command, DockerfileInstructions, RunCommand } from './instructions.js';
import type { SecretMount } from './mounts.js';
import { stageLabel } from './outline.js';

export type Severity = 'error' | 'warning';

export interface Finding {
  rule: LintRule;
  severity: Severity;
  line: number;
  /** The stage's name or index, '' for global lines. */
  stage: string;
  message: string;
  /** One line on how to fix it. */
  fix: string;
}

export const LINT_RULES = {
  'secret-name-in-arg': 'warning',
  'secret-name-in-env': 'warning',
  'secret-copied-to-filesystem': 'error',
  'secret-echoed': 'error',
  'secret-traced': 'warning',
  'secret-read-without-mount': 'error',
  'secret-required-missing': 'error',
  'secret-optional-missing': 'warning',
  'secret-not-mounted': 'warning',
  'syntax-needs-pull': 'warning',
  'empty-continuation-line': 'warning',
} as const satisfies Record<string, Severity>;

export type LintRule = keyof typeof LINT_RULES;

export interface LintOptions {
  /**
   * Ids of the secrets that will be given to the build. When undefined, the
   * given-vs-mounted rules that need the list are skipped, except that a
   * required secret is still reported as missing.
   */
  givenSecrets?: readonly string[];
}

// Word parts that make a variable name look like it holds a secret.
const SECRET_NAME_RE =
  /(?:^|[_.-])(?:api[_-]?key|apikey|auth|credentials?|key|password|passwd|pword|pass|secret|token|private[_-]?key|access[_-]?key)(?:$|[_.-])/i;
// Names that match the pattern but are public by convention.
const PUBLIC_NAME_RE = /(?:^|[_.-])(?:public|pub|id|path|file|dir|url|host|name|user|username|version|type|length|size)$/i;

export function looksLikeSecretName(name: string): boolean {
  return SECRET_NAME_RE.test(name) && !PUBLIC_NAME_RE.test(name) && !/(?:^|[_.-])public(?:$|[_.-])/i.test(name);
}

// docker/dockerfile:1.x (or untagged) is served by Hangar's own frontend;
// the same rule as `hangar build` applies.
const SYNTAX_OK_RE = /^(?:docker\.io\/)?docker\/dockerfile(?::1(?:\.\d+){0,2}(?:-labs)?)?(?:@sha256:[0-9a-f]{64})?$/;

const COPY_COMMANDS = new Set(['cp', 'mv', 'install', 'rsync', 'dd', 'tee', 'scp']);
const OUTPUT_COMMANDS = new Set([
  'cat',
  'echo',
  'printf',
  'head',
  'tail',
  'base64',
  'xxd',
  'od',
  'hexdump',
  'strings',
  'more',
  'less',
  'tac',
  'nl',
  'awk',
  'sed',
]);
// Commands whose output contains their arguments, substitutions included.
const EMBEDDING_COMMANDS = new Set(['echo', 'printf', 'sed', 'awk']);
// Commands that pass data through unchanged or trivially encoded.
const PASS_THROUGH = new Set(['cat', 'base64', 'xxd', 'od', 'hexdump', 'tr', 'rev', 'head', 'tail', 'tee', 'sed', 'awk']);

interface SecretRefs {
  /** File paths of this RUN's secret mounts, and the generic /run/secrets/ prefix. */
  paths: string[];
  /** Env var names of this RUN's env secrets. */
  envs: string[];
}

interface Segment {
  text: string;
  words: string[];
  /** True when this segment's stdout goes into the next segment. */
  pipedOut: boolean;
}

// Splits shell text into pipelines of simple commands on unquoted `;`, `&&`,
// `||`, newlines and `|`. Heuristic: enough to spot data flow, not a full shell.
function splitPipelines(script: string): Segment[][] {
  const pipelines: Segment[][] = [];
  let current: Segment[] = [];
  let buf = '';
  let quote = '';
  let depth = 0;
  const pushSeg = (piped: boolean) => {
    const text = buf.trim();
    buf = '';
    if (text !== '') current.push({ text, words: shellWords(text), pipedOut: piped });
  };
  const endPipeline = () => {
    pushSeg(false);
    if (current.length) pipelines.push(current);
    current = [];
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i] as string;
    if (quote) {
      buf += c;
      if (c === '\\' && quote === '"') {
        buf += script[i + 1] ?? '';
        i++;
      } else if (c === quote) quote = '';
      continue;
    }
    if (c === '\\') {
      if (script[i + 1] === '\n') {
        i++;
        buf += ' ';
        continue;
      }
      buf += c + (script[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      buf += c;
      continue;
    }
    if (c === '$' && script[i + 1] === '(') {
      depth++;
      buf += '$(';
      i++;
      continue;
    }
    if (c === ')' && depth > 0) {
      depth--;
      buf += c;
      continue;
    }
    if (depth > 0) {
      buf += c;
      continue;
    }
    if (c === '#' && (buf === '' || /\s$/.test(buf))) {
      const nl = script.indexOf('\n', i);
      i = nl < 0 ? script.length : nl - 1;
      continue;
    }
    if (c === ';' || c === '\n') {
      endPipeline();
      continue;
    }
    if (c === '&' && script[i + 1] === '&') {
      endPipeline();
      i++;
      continue;
    }
    if (c === '|' && script[i + 1] === '|') {
      endPipeline();
      i++;
      continue;
    }
    if (c === '|') {
      pushSeg(true);
      continue;
    }
    buf += c;
  }
  endPipeline();
  return pipelines;
}

function shellWords(text: string): string[] {
  const out: string[] = [];
  const re = /(?:[^\s"']+|"(?:[^"\\]|\\.)*"|'[^']*')+/g;
  for (const m of text.matchAll(re)) out.push(m[0]);
  return out;
}

function stripSubstitutions(text: string): string {
  // Text inside $(...) or backticks is consumed by the command, not printed.
  let out = '';
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '(') {
      depth++;
      i++;
      continue;
    }
    if (depth > 0) {
      if (text[i] === '(') depth++;
      if (text[i] === ')') depth--;
      continue;
    }
    out += text[i];
  }
  return out.replace(/`[^`]*`/g, '');
}

function refersTo(text: string, refs: SecretRefs): boolean {
  for (const p of refs.paths) if (text.includes(p)) return true;
  for (const raw of refs.envs) {
    const e = raw.replace(/[\\^$.*+?()[\]{}|/-]/g, (c) => '\\' + c);
    if (new RegExp(`\\$(?:\\{${e}(?:[:}#%/+?-]|$)|${e}(?![A-Za-z0-9_]))`).test(text)) return true;
  }
  return false;
}

function commandWord(words: string[]): { cmd: string; args: string[] } {
  let i = 0;
  while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i] as string)) i++;
  while (i < words.length && ['sudo', 'exec', 'command', 'env', 'nohup', 'time'].includes(words[i] as string) && i + 1 < words.length) {
    i++;
    while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i] as string)) i++;
  }
  const cmd = (words[i] ?? '').replace(/^.*\//, '');
  return { cmd, args: words.slice(i + 1) };
}

// Output redirections to a file (not to another descriptor or /dev/null etc.).
function fileRedirect(text: string): string | undefined {
  // `>` inside quotes is text, not a redirection.
  const plain = stripSubstitutions(text).replace(/"(?:[^"\\]|\\.)*"|'[^']*'/g, '""');
  const re = /(?:^|[^0-9&<>])(?:1)?>{1,2}\|?\s*([^\s&|;<>][^\s;|<>]*)/g;
  for (const m of plain.matchAll(re)) {
    const dest = (m[1] as string).replace(/^["']|["']$/g, '');
    if (/^\/dev\/(?:null|stdout|stderr|tty|fd\/[12])$/.test(dest)) continue;
    return dest;
  }
  return undefined;
}

interface ScriptFinding {
  rule: 'secret-copied-to-filesystem' | 'secret-echoed' | 'secret-traced';
  detail: string;
}

// The file a copy writes to: the last operand of cp/mv/install/rsync/scp, or
// tee's and dd's output.
function copyDestination(cmd: string, args: string[]): string | undefined {
  const operands = args.filter((a) => !a.startsWith('-'));
  if (cmd === 'dd') return operands.find((a) => a.startsWith('of='))?.slice(3);
  if (cmd === 'tee') return operands[0];
  return operands[operands.length - 1];
}

// A file written and then removed in the same RUN never reaches the layer.
function removedLater(pipelines: Segment[][], from: number, path: string | undefined): boolean {
  if (!path) return false;
  const p = path.replace(/^["']|["']$/g, '');
  for (const pl of pipelines.slice(from + 1)) {
    for (const seg of pl) {
      const { cmd, args } = commandWord(seg.words);
      if (cmd === 'rm' || cmd === 'shred') {
        if (args.some((a) => a.replace(/^["']|["']$/g, '') === p)) return true;
      }
    }
  }
  return false;
}

function analyzeScript(script: string, refs: SecretRefs): ScriptFinding[] {
  const found: ScriptFinding[] = [];
  const pipelines = splitPipelines(script);
  const traced = /(?:^|[\s;&|])set\s+-[a-zA-Z]*x|(?:^|[\s;&|])(?:ba|da|z)?sh\s+-[a-zA-Z]*x/.test(script);
  for (let pi = 0; pi < pipelines.length; pi++) {
    const pipeline = pipelines[pi] as Segment[];
    let flowing = false; // secret data is in the pipe
    const whole = pipeline.map((s) => s.text).join(' | ');
    for (let i = 0; i < pipeline.length; i++) {
      const seg = pipeline[i] as Segment;
      const { cmd, args } = commandWord(seg.words);
      const direct = refersTo(stripSubstitutions(seg.text), refs);
      const any = direct || refersTo(seg.text, refs);
      if (COPY_COMMANDS.has(cmd) && (direct || (flowing && cmd === 'tee'))) {
        const dest = copyDestination(cmd, args);
        if ((cmd !== 'tee' || (dest !== undefined && !/^\/dev\//.test(dest))) && !removedLater(pipelines, pi, dest)) {
          found.push({ rule: 'secret-copied-to-filesystem', detail: `\`${flowing ? whole : seg.text}\`` });
          flowing = false;
          continue;
        }
      }
      const redirect = fileRedirect(seg.text);
      // Only output that carries the secret counts: `cat s > f` or
      // `echo "$(cat s)" > f` does, `wc -c < s > f` does not.
      const carries =
        (flowing && PASS_THROUGH.has(cmd)) ||
        ((OUTPUT_COMMANDS.has(cmd) || PASS_THROUGH.has(cmd)) && direct) ||
        (EMBEDDING_COMMANDS.has(cmd) && any);
      if (redirect && carries && !removedLater(pipelines, pi, redirect)) {
        found.push({ rule: 'secret-copied-to-filesystem', detail: `\`${flowing ? whole : seg.text}\` writes to ${redirect}` });
        flowing = false;
        continue;
      }
      const outputs = OUTPUT_COMMANDS.has(cmd) && direct;
      const dumpsEnv = (cmd === 'env' || cmd === 'printenv' || cmd === 'export' || cmd === 'set') && args.length === 0 && refs.envs.length > 0;
      const printenvNamed = cmd === 'printenv' && args.some((a) => refs.envs.includes(a));
      if (outputs || dumpsEnv || printenvNamed || (flowing && PASS_THROUGH.has(cmd))) {
        if (seg.pipedOut) {
          flowing = true;
          continue;
        }
        found.push({ rule: 'secret-echoed', detail: `\`${flowing ? whole : seg.text}\`` });
        flowing = false;
        continue;
      }
      flowing = false;
    }
  }
  if (traced && refersTo(script, refs)) {
    found.push({ rule: 'secret-traced', detail: 'shell tracing (set -x) is on while a secret is used' });
  }
  return found;
}

function runScripts(cmd: RunCommand): string[] {
  const scripts: string[] = [];
  if (cmd.prependShell) {
    const s = cmd.cmdLine[0] ?? '';
    // A RUN whose command is only a heredoc runs that heredoc as its script.
    if (!/^\s*\d*<<-?\s*\S+\s*$/.test(s)) scripts.push(s);
    for (const f of cmd.files) scripts.push(f.data);
  } else {
    scripts.push(cmd.cmdLine.join(' '));
  }
  return scripts;
}

function finding(rule: LintRule, line: number, stage: string, message: string, fix: string): Finding {
  return { rule, severity: LINT_RULES[rule], line, stage, message, fix };
}

/** Lints a typed Dockerfile. Findings are sorted by line. */
export function check(ins: DockerfileInstructions, options: LintOptions = {}): Finding[] {
  const out: Finding[] = [];
  const syntax = ins.directives.syntax;
  if (syntax !== undefined && !SYNTAX_OK_RE.test(syntax.trim())) {
    out.push(
      finding(
        'syntax-needs-pull',
        1,
        '',
        `# syntax=${syntax} names a frontend image that must be pulled, and Hangar builds with its own frontend`,
        'use # syntax=docker/dockerfile:1 or remove the line',
      ),
    );
  }
  for (const w of ins.warnings ?? []) {
    out.push(
      finding(
        'empty-continuation-line',
        w.line,
        '',
        'an empty line inside a continued instruction is skipped, and BuildKit plans to reject it',
        'remove the empty line, or end the instruction before it',
      ),
    );
  }
  for (const a of ins.metaArgs) {
    for (const d of a.args) {
      if (looksLikeSecretName(d.key)) out.push(argFinding(d.key, a.startLine, ''));
    }
  }
  const mounted = new Map<string, SecretMount[]>();
  for (const st of ins.stages) {
    const label = stageLabel(st);
    for (const c of st.commands) lintCommand(c, label, out, mounted);
  }
  const given = options.givenSecrets ? new Set(options.givenSecrets) : undefined;
  for (const [id, ms] of mounted) {
    if (given?.has(id)) continue;
    const required = ms.find((m) => m.required);
    if (required) {
      out.push(
        finding(
          'secret-required-missing',
          required.line,
          '',
          `secret ${id} is mounted with required=true but is not given`,
          `pass --secret id=${id},src=FILE (or env=VAR)`,
        ),
      );
    } else if (given) {
      const m = ms[0] as SecretMount;
      out.push(
        finding(
          'secret-optional-missing',
          m.line,
          '',
          `secret ${id} is mounted but not given, so the step runs without it`,
          `pass --secret id=${id},src=FILE or drop the mount`,
        ),
      );
    }
  }
  for (const id of options.givenSecrets ?? []) {
    if (!mounted.has(id)) {
      out.push(
        finding(
          'secret-not-mounted',
          1,
          '',
          `secret ${id} is given but no RUN mounts it`,
          `add --mount=type=secret,id=${id} to the RUN that needs it, or stop passing it`,
        ),
      );
    }
  }
  const seen = new Set<string>();
  return out
    .filter((f) => {
      const key = `${f.rule}\0${f.line}\0${f.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.line - b.line);
}

function argFinding(key: string, line: number, stage: string): Finding {
  return finding(
    'secret-name-in-arg',
    line,
    stage,
    `ARG ${key} looks like a secret; build args are stored in the image history`,
    `mount it instead: RUN --mount=type=secret,id=${key} ...`,
  );
}

function lintCommand(c: Command, label: string, out: Finding[], mounted: Map<string, SecretMount[]>): void {
  if (c.kind === 'arg') {
    for (const d of c.args) if (looksLikeSecretName(d.key)) out.push(argFinding(d.key, c.startLine, label));
    return;
  }
  if (c.kind === 'env') {
    for (const p of c.env) {
      if (looksLikeSecretName(p.key)) {
        out.push(
          finding(
            'secret-name-in-env',
            c.startLine,
            label,
            `ENV ${p.key} looks like a secret; ENV values are stored in the image config`,
            `mount it for the step that needs it: RUN --mount=type=secret,id=${p.key},env=${p.key} ...`,
          ),
        );
      }
    }
    return;
  }
  if (c.kind !== 'run') return;
  const secrets = c.mounts.filter((m): m is SecretMount => m.type === 'secret');
  for (const m of secrets) {
    const list = mounted.get(m.id) ?? [];
    list.push(m);
    mounted.set(m.id, list);
  }
  const refs: SecretRefs = {
    paths: [...new Set(['/run/secrets/', ...secrets.flatMap((m) => (m.target ? [m.target] : []))])],
    envs: secrets.flatMap((m) => (m.env ? [m.env] : [])),
  };
  const scripts = runScripts(c);
  for (const script of scripts) {
    for (const f of analyzeScript(script, refs)) {
      const fix =
        f.rule === 'secret-copied-to-filesystem'
          ? 'read the secret where it is used (e.g. VAR="$(cat /run/secrets/ID)" cmd) instead of writing it to a file'
          : f.rule === 'secret-echoed'
            ? 'pipe the secret into the command that needs it instead of printing it'
            : 'turn tracing off (set +x) around the lines that use the secret';
      const what =
        f.rule === 'secret-copied-to-filesystem'
          ? 'a secret is written into the filesystem, where it ends up in the image layer'
          : f.rule === 'secret-echoed'
            ? 'a secret is printed to the build output'
            : 'a secret may be printed to the build output';
      out.push(finding(f.rule, c.startLine, label, `${what}: ${f.detail}`, fix));
    }
    // /run/secrets/NAME read without a mount of NAME in this RUN.
    for (const m of script.matchAll(/\/run\/secrets\/([A-Za-z0-9_.-]+)/g)) {
      const path = m[0];
      const name = m[1] as string;
      if (!secrets.some((s) => s.target === path)) {
        out.push(
          finding(
            'secret-read-without-mount',
            c.startLine,
            label,
            `this RUN reads ${path} but does not mount secret ${name}`,
            `add --mount=type=secret,id=${name} to this RUN`,
          ),
        );
      }
    }
  }
}
