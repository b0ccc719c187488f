// Dockerfile text → raw syntax tree. Knows lines, continuations, parser
// directives, flags, heredocs and the per-keyword argument shapes (the node
// values BuildKit's parser produces), nothing of what instructions mean.
// Pure: no files, no clock; it must never hang or throw anything but a
// DockerfileError, whatever bytes it is given.
import { DockerfileError, type Position } from './errors.js';
import { emptyEnv, isGoSpace, processWord, ShellSyntaxError } from './shell-lex.js';

/** A here-document attached to a RUN, COPY or ADD line. */
export interface Heredoc {
  /** The delimiter word with quotes removed (also the file name for COPY sources). */
  name: string;
  /** The `N` of `N<<EOF`, 0 when absent. */
  fileDescriptor: number;
  /** False when any part of the delimiter was quoted: no variable expansion in the content. */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from the content. */
  chomp: boolean;
  /** The lines between the instruction and the delimiter, line endings kept. */
  content: string;
}

/** Where the parts of an instruction start in the file. */
export interface InstructionPositions {
  keyword: Position;
  flags: Position[];
  args: Position;
}

/** One instruction as written, before any meaning is given to it. */
export interface RawInstruction {
  /** Lower-case keyword (`run`, `copy`, ...; unknown keywords kept as written, lower-cased). */
  keyword: string;
  /** The keyword exactly as written. */
  command: string;
  /** Raw `--flag[=value]` words, quotes removed. */
  flags: string[];
  /** Argument node values, exactly as BuildKit's parser produces them. */
  args: string[];
  /** True when the arguments were a JSON array (exec form). */
  json: boolean;
  heredocs: Heredoc[];
  startLine: number;
  endLine: number;
  /** The nested instruction of ONBUILD. */
  next?: RawInstruction;
  /** The logical line (continuations joined, comments dropped). */
  original: string;
  positions: InstructionPositions;
}

export interface ParseWarning {
  line: number;
  message: string;
}

/** The raw tree of a whole Dockerfile. */
export interface RawDockerfile {
  file: string;
  /** Parser directives by lower-case name: `syntax`, `escape`, `check`. */
  directives: Record<string, string>;
  /** The escape token in effect: `\` or a backtick. */
  escape: string;
  instructions: RawInstruction[];
  warnings: ParseWarning[];
}

export interface ParseOptions {
  /** The name used in error messages, e.g. `Dockerfile`. */
  file?: string;
}

const DIRECTIVE_NAMES = new Set(['syntax', 'escape', 'check']);
// Name and the rest after `=`; the value is trimmed by hand (a lazy regex
// would be quadratic on long runs of spaces).
const directiveRe = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=([^\n]*)$/;
const heredocWordRe = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/;
// BuildKit splits on these (not on every Unicode space).
const wsRunRe = /[\t\v\f\r ]+/;
const HEREDOC_KEYWORDS = new Set(['run', 'copy', 'add']);

function isSpaceCode(c: number): boolean {
  return isGoSpace(c);
}

function trimLeftSpace(s: string): string {
  let i = 0;
  while (i < s.length && isSpaceCode(s.charCodeAt(i))) i++;
  return i === 0 ? s : s.slice(i);
}

function trimRightSpace(s: string): string {
  let j = s.length;
  while (j > 0 && isSpaceCode(s.charCodeAt(j - 1))) j--;
  return j === s.length ? s : s.slice(0, j);
}

export function trimSpace(s: string): string {
  return trimRightSpace(trimLeftSpace(s));
}

function trimNewline(s: string): string {
  let j = s.length;
  while (j > 0) {
    const c = s.charCodeAt(j - 1);
    if (c !== 0x0a && c !== 0x0d) break;
    j--;
  }
  return j === s.length ? s : s.slice(0, j);
}

function isComment(s: string): boolean {
  const t = trimLeftSpace(s);
  return t.length > 0 && t.charCodeAt(0) === 0x23;
}

function escapeForRegExp(ch: string): string {
  return ch.replace(/[\\^$.*+?()[\]{}|/]/g, (c) => '\\' + c);
}

// Maps offsets in a logical line (joined continuation lines) back to file
// positions, so that errors point at the physical line and column.
class LineMap {
  private readonly offsets: number[] = [];
  private readonly lines: number[] = [];
  private readonly columns: number[] = [];
  add(offset: number, line: number, column: number): void {
    this.offsets.push(offset);
    this.lines.push(line);
    this.columns.push(column);
  }
  at(offset: number): Position {
    // Last piece starting at or before `offset` (binary search: a logical
    // line can span thousands of physical lines).
    let lo = 0;
    let hi = this.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.offsets[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    const i = lo;
    return {
      line: this.lines[i] ?? 1,
      column: (this.columns[i] ?? 1) + offset - (this.offsets[i] ?? 0),
    };
  }
}

interface Directives {
  escape: string;
  continuation: RegExp;
  done: boolean;
  seen: Map<string, string>;
}

function setEscape(d: Directives, token: string): boolean {
  if (token !== '`' && token !== '\\') return false;
  d.escape = token;
  const e = escapeForRegExp(token);
  // A trailing escape token continues the line unless it is itself escaped.
  d.continuation = new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
  return true;
}

interface ParseContext {
  file: string;
  d: Directives;
  lineText: (line: number) => string;
}

function fail(ctx: ParseContext, at: Position, problem: string, excerpt?: string, fix?: string): never {
  throw new DockerfileError({
    file: ctx.file,
    at,
    problem,
    excerpt: excerpt ?? ctx.lineText(at.line),
    fix,
  });
}

const isDirectiveSpace = (c: number) => c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d || c === 0x20;

// BuildKit's `\s*(.+?)\s*$`: the value without surrounding spaces; when only
// spaces follow `=`, the last of them.
function directiveValue(rest: string): string | undefined {
  if (rest === '') return undefined;
  let i = 0;
  while (i < rest.length && isDirectiveSpace(rest.charCodeAt(i))) i++;
  if (i === rest.length) return rest.slice(-1);
  let j = rest.length;
  while (j > i && isDirectiveSpace(rest.charCodeAt(j - 1))) j--;
  return rest.slice(i, j);
}

// Parser directives are comments of the form `# name=value` before anything
// else; the first line that is not one ends them for the rest of the file.
function readDirective(ctx: ParseContext, line: string, lineNo: number): boolean {
  const d = ctx.d;
  if (d.done) return false;
  if (!line.startsWith('#')) {
    d.done = true;
    return false;
  }
  const m = directiveRe.exec(trimLeftSpace(line.slice(1)));
  if (!m) {
    d.done = true;
    return false;
  }
  const name = (m[1] as string).toLowerCase();
  const value = directiveValue(m[2] as string);
  if (value === undefined || !DIRECTIVE_NAMES.has(name)) {
    d.done = true;
    return false;
  }
  if (d.seen.has(name)) {
    fail(ctx, { line: lineNo, column: 1 }, `only one ${name} parser directive can be used`, line, 'remove the repeated directive');
  }
  d.seen.set(name, value);
  if (name === 'escape' && !setEscape(d, value)) {
    fail(
      ctx,
      { line: lineNo, column: 1 },
      `invalid escape token '${value}'`,
      line,
      'the escape directive takes a backslash or a backtick',
    );
  }
  return true;
}

// BuildKit's word splitter for ENV, LABEL and ARG: quotes and escapes are kept
// in the words (they are removed later, during expansion).
function parseWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let phase: 0 | 1 | 2 = 0; // spaces, word, quote
  let quote = '';
  let blankOK = false;
  let buf = '';
  const n = rest.length;
  for (let pos = 0; pos <= n; pos++) {
    let ch = pos < n ? (rest[pos] as string) : '';
    if (phase === 0) {
      if (pos === n) break;
      if (isSpaceCode(ch.charCodeAt(0))) continue;
      // Fast path: a word without quotes or escapes is taken as one slice.
      let end = pos + 1;
      while (end < n && !isSpaceCode(rest.charCodeAt(end))) end++;
      const w = rest.slice(pos, end);
      if (!w.includes('"') && !w.includes("'") && !w.includes(escape)) {
        words.push(w);
        pos = end - 1;
        continue;
      }
      phase = 1;
    }
    if (pos === n) {
      if (blankOK || buf.length > 0) words.push(buf);
      break;
    }
    if (phase === 1) {
      if (isSpaceCode(ch.charCodeAt(0))) {
        phase = 0;
        if (blankOK || buf.length > 0) words.push(buf);
        buf = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 2;
      }
      if (ch === escape) {
        if (pos + 1 === n) continue;
        buf += ch;
        pos++;
        ch = rest[pos] as string;
      }
      buf += ch;
      continue;
    }
    // phase 2: inside quotes
    if (ch === quote) phase = 1;
    if (ch === escape && quote !== "'") {
      if (pos + 1 === n) {
        phase = 1;
        continue;
      }
      pos++;
      buf += ch;
      ch = rest[pos] as string;
    }
    buf += ch;
  }
  return words;
}

interface ArgsResult {
  args: string[];
  json: boolean;
  next?: RawInstruction;
}

class NotStringArray extends Error {}

// JSON (exec) form: the arguments must be an array of strings. Anything that
// is not valid JSON falls back to the shell form; an array with a non-string
// element is an error.
function parseJSONArgs(rest: string): string[] | undefined {
  const t = trimLeftSpace(rest);
  if (!t.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  for (const v of value) if (typeof v !== 'string') throw new NotStringArray();
  return value as string[];
}

function splitWhitespace(rest: string): string[] {
  if (rest === '') return [];
  return rest.split(wsRunRe);
}

interface LineSource {
  ctx: ParseContext;
  map: LineMap;
}

function parseNameVal(src: LineSource, rest: string, key: string, argsAt: number): string[] {
  const words = parseWords(rest, src.ctx.d.escape);
  if (words.length === 0) return [];
  if (!(words[0] as string).includes('=')) {
    const m = wsRunRe.exec(rest);
    if (!m) {
      fail(
        src.ctx,
        src.map.at(argsAt),
        `${key} must have two arguments`,
        rest,
        `write ${key} NAME=VALUE`,
      );
    }
    return [rest.slice(0, m.index), rest.slice(m.index + m[0].length), ''];
  }
  const out: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      const off = rest.indexOf(word);
      fail(
        src.ctx,
        src.map.at(argsAt + Math.max(off, 0)),
        `syntax error: the word ${JSON.stringify(word)} has no =`,
        rest,
        `every ${key} word must have the form name=value`,
      );
    }
    out.push(word.slice(0, eq), word.slice(eq + 1), '=');
  }
  return out;
}

function parseArgsFor(src: LineSource, keyword: string, rest: string, argsAt: number): ArgsResult {
  const maybeJSON = (toList: boolean): ArgsResult => {
    if (rest === '' && !toList) return { args: [], json: false };
    let arr: string[] | undefined;
    try {
      arr = parseJSONArgs(rest);
    } catch (err) {
      if (err instanceof NotStringArray) {
        fail(
          src.ctx,
          src.map.at(argsAt),
          'when using JSON array syntax, arrays must be comprised of strings only',
          rest,
          'quote every element of the array',
        );
      }
      throw err;
    }
    if (arr) return { args: arr, json: true };
    if (toList) return { args: splitWhitespace(rest), json: false };
    return { args: [rest], json: false };
  };
  switch (keyword) {
    case 'add':
    case 'copy':
    case 'volume':
      return maybeJSON(true);
    case 'cmd':
    case 'entrypoint':
    case 'run':
    case 'shell':
      return maybeJSON(false);
    case 'arg':
      return { args: parseWords(rest, src.ctx.d.escape), json: false };
    case 'env':
    case 'label':
      return { args: parseNameVal(src, rest, keyword.toUpperCase(), argsAt), json: false };
    case 'expose':
    case 'from':
      return { args: splitWhitespace(rest), json: false };
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      return { args: rest === '' ? [] : [rest], json: false };
    case 'healthcheck': {
      let sep = 0;
      while (sep < rest.length && !isSpaceCode(rest.charCodeAt(sep))) sep++;
      if (sep === 0) return { args: [], json: false };
      let nxt = sep;
      while (nxt < rest.length && isSpaceCode(rest.charCodeAt(nxt))) nxt++;
      const typ = rest.slice(0, sep);
      const cmdRest = rest.slice(nxt);
      if (cmdRest === '') return { args: [typ], json: false };
      let arr: string[] | undefined;
      try {
        arr = parseJSONArgs(cmdRest);
      } catch (err) {
        if (err instanceof NotStringArray) {
          fail(
            src.ctx,
            src.map.at(argsAt + nxt),
            'when using JSON array syntax, arrays must be comprised of strings only',
            rest,
            'quote every element of the array',
          );
        }
        throw err;
      }
      if (arr) return { args: [typ, ...arr], json: true };
      return { args: [typ, cmdRest], json: false };
    }
    case 'onbuild': {
      if (rest === '') return { args: [], json: false };
      const next = nodeFromLine(src, rest, argsAt);
      return { args: [], json: false, next };
    }
    default:
      // Unknown keywords parse to one empty node; the instruction layer rejects them.
      return { args: [''], json: false };
  }
}

// Leading `--flag` words, BuildKit style: quotes removed, escapes applied, a
// bare `--` ends the flags.
function extractFlags(
  line: string,
  escape: string,
): { rest: string; restAt: number; flags: string[]; flagAt: number[] } {
  const flags: string[] = [];
  const flagAt: number[] = [];
  let phase: 0 | 1 | 2 = 0;
  let buf = '';
  let quote = '';
  let blankOK = false;
  let wordStart = 0;
  const n = line.length;
  for (let pos = 0; pos <= n; pos++) {
    let ch = pos < n ? (line[pos] as string) : '';
    if (phase === 0) {
      if (pos === n) break;
      if (isSpaceCode(ch.charCodeAt(0))) continue;
      if (ch !== '-' || pos + 1 === n || line[pos + 1] !== '-') {
        return { rest: line.slice(pos), restAt: pos, flags, flagAt };
      }
      // Fast path: a flag without quotes or escapes is taken as one slice.
      let end = pos + 2;
      while (end < n && !isSpaceCode(line.charCodeAt(end))) end++;
      const w = line.slice(pos, end);
      if (!w.includes('"') && !w.includes("'") && !w.includes(escape)) {
        if (w === '--') return { rest: line.slice(end), restAt: end, flags, flagAt };
        flags.push(w);
        flagAt.push(pos);
        pos = end - 1;
        continue;
      }
      phase = 1;
      wordStart = pos;
    }
    if (pos === n) {
      if (buf !== '--' && (blankOK || buf.length > 0)) {
        flags.push(buf);
        flagAt.push(wordStart);
      }
      break;
    }
    if (phase === 1) {
      if (isSpaceCode(ch.charCodeAt(0))) {
        phase = 0;
        if (buf === '--') return { rest: line.slice(pos), restAt: pos, flags, flagAt };
        if (blankOK || buf.length > 0) {
          flags.push(buf);
          flagAt.push(wordStart);
        }
        buf = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 2;
        continue;
      }
      if (ch === escape) {
        if (pos + 1 === n) continue;
        pos++;
        ch = line[pos] as string;
      }
      buf += ch;
      continue;
    }
    if (ch === quote) {
      phase = 1;
      continue;
    }
    if (ch === escape) {
      if (pos + 1 === n) {
        phase = 1;
        continue;
      }
      pos++;
      ch = line[pos] as string;
    }
    buf += ch;
  }
  return { rest: '', restAt: n, flags, flagAt };
}

function nodeFromLine(src: LineSource, line: string, lineAt: number): RawInstruction {
  // Work on the line without surrounding spaces, but keep offsets into `line`.
  let start = 0;
  while (start < line.length && isSpaceCode(line.charCodeAt(start))) start++;
  let end = line.length;
  while (end > start && isSpaceCode(line.charCodeAt(end - 1))) end--;
  const trimmed = line.slice(start, end);
  const m = wsRunRe.exec(trimmed);
  const command = m ? trimmed.slice(0, m.index) : trimmed;
  let flags: string[] = [];
  let flagAt: number[] = [];
  let rest = '';
  let restAt = trimmed.length;
  if (m) {
    const after = m.index + m[0].length;
    const ex = extractFlags(trimmed.slice(after), src.ctx.d.escape);
    flags = ex.flags;
    flagAt = ex.flagAt.map((o) => o + after);
    let rs = 0;
    while (rs < ex.rest.length && isSpaceCode(ex.rest.charCodeAt(rs))) rs++;
    rest = trimRightSpace(ex.rest.slice(rs));
    restAt = after + ex.restAt + rs;
  }
  const base = lineAt + start;
  const keyword = command.toLowerCase();
  const parsed = parseArgsFor(src, keyword, rest, base + restAt);
  const node: RawInstruction = {
    keyword,
    command,
    flags,
    args: parsed.args,
    json: parsed.json,
    heredocs: [],
    startLine: 0,
    endLine: 0,
    original: line,
    positions: {
      keyword: src.map.at(base),
      flags: flagAt.map((o) => src.map.at(base + o)),
      args: src.map.at(base + restAt),
    },
  };
  if (parsed.next) node.next = parsed.next;
  return node;
}

function canContainHeredoc(node: RawInstruction): boolean {
  let n = node;
  if (n.keyword === 'onbuild' && n.next) n = n.next;
  return HEREDOC_KEYWORDS.has(n.keyword) && !n.json;
}

/** Parses one heredoc word such as `<<EOF`, `<<-"EOF"` or `3<<EOF`; undefined when it is not one. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = heredocWordRe.exec(word);
  if (!m) return undefined;
  const rest = m[3] as string;
  if (rest === '') return undefined;
  const plain = processWord(rest, emptyEnv, { skipUnsetEnv: true }).words;
  if (plain.length !== 1) return undefined;
  const raw = processWord(rest, emptyEnv, { skipUnsetEnv: true, rawQuotes: true }).words;
  const name = plain[0] as string;
  const rawName = raw[0] ?? '';
  const quotes = (s: string) => s.split(/['"]/).length - 1;
  const fd = m[1] === '' ? 0 : Number(m[1]);
  return {
    name,
    fileDescriptor: Number.isFinite(fd) ? fd : 0,
    expand: quotes(name) === quotes(rawName),
    chomp: m[2] === '-',
  };
}

/** Like parseHeredocWord, but a word that does not lex is simply not a heredoc. */
export function mustParseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  try {
    return parseHeredocWord(word);
  } catch (err) {
    if (err instanceof ShellSyntaxError) return undefined;
    throw err;
  }
}

function heredocsFromLine(line: string): Omit<Heredoc, 'content'>[] {
  let words: string[];
  try {
    words = processWord(line, emptyEnv, { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }).words;
  } catch (err) {
    if (err instanceof ShellSyntaxError) return [];
    throw err;
  }
  const docs: Omit<Heredoc, 'content'>[] = [];
  for (const w of words) {
    const h = parseHeredocWord(w);
    if (h) docs.push(h);
  }
  return docs;
}

/** Removes leading tabs from every line, as `<<-` asks. */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, '');
}

function splitLines(text: string): string[] {
  const lines: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) {
      lines.push(text.slice(pos));
      break;
    }
    lines.push(text.slice(pos, nl + 1));
    pos = nl + 1;
  }
  return lines;
}

/** Parses Dockerfile text into its raw tree. Throws DockerfileError on malformed input. */
export function parse(text: string, options: ParseOptions = {}): RawDockerfile {
  const file = options.file ?? 'Dockerfile';
  const lines = splitLines(text);
  const d: Directives = { escape: '\\', continuation: /$^/, done: false, seen: new Map() };
  setEscape(d, '\\');
  const ctx: ParseContext = {
    file,
    d,
    lineText: (n) => trimNewline(lines[n - 1] ?? ''),
  };
  const instructions: RawInstruction[] = [];
  const warnings: ParseWarning[] = [];
  let current = 0;
  let i = 0;

  const trimContinuation = (s: string): [string, boolean] => {
    // Most lines do not end in the escape token: skip the regex for them.
    let j = s.length - 1;
    while (j >= 0 && (s.charCodeAt(j) === 0x20 || s.charCodeAt(j) === 0x09)) j--;
    if (j < 0 || s[j] !== d.escape) return [s, true];
    const m = d.continuation.exec(s);
    if (!m) return [s, true];
    return [s.slice(0, m.index) + (m[1] ?? ''), false];
  };

  while (i < lines.length) {
    let raw = lines[i++] as string;
    if (current === 0 && raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
    const noNewline = trimNewline(raw);
    let lead = 0;
    while (lead < noNewline.length && isSpaceCode(noNewline.charCodeAt(lead))) lead++;
    let first = noNewline.slice(lead);
    readDirective(ctx, first, current + 1);
    if (isComment(first)) first = '';
    current++;
    const startLine = current;
    const cont = trimContinuation(first);
    const text0 = cont[0];
    let eol = cont[1];
    if (eol && text0.length === 0) continue;
    const map = new LineMap();
    map.add(0, current, lead + 1);
    let buf = text0;
    let emptyContinuation = 0;
    while (!eol && i < lines.length) {
      const rawNext = lines[i++] as string;
      let t = trimNewline(rawNext);
      readDirective(ctx, t, current + 1);
      current++;
      if (isComment(t)) continue;
      if (trimLeftSpace(t).length === 0) {
        if (emptyContinuation === 0) emptyContinuation = current;
        continue;
      }
      [t, eol] = trimContinuation(t);
      map.add(buf.length, current, 1);
      buf += t;
    }
    if (emptyContinuation) {
      warnings.push({
        line: emptyContinuation,
        message: `empty continuation line in ${JSON.stringify(trimSpace(buf).slice(0, 60))}; remove the empty line or the trailing escape before it`,
      });
    }
    const src: LineSource = { ctx, map };
    const node = nodeFromLine(src, buf, 0);
    if (canContainHeredoc(node) && buf.includes('<<')) {
      let docs: Omit<Heredoc, 'content'>[];
      try {
        docs = heredocsFromLine(buf);
      } catch (err) {
        if (err instanceof ShellSyntaxError) {
          fail(ctx, map.at(0), err.message, buf, 'check the quoting of the heredoc delimiter');
        }
        throw err;
      }
      for (const doc of docs) {
        let content = '';
        let terminated = false;
        while (i < lines.length) {
          const l = lines[i++] as string;
          current++;
          let candidate = trimNewline(l);
          if (doc.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === doc.name) {
            terminated = true;
            break;
          }
          content += l;
        }
        if (!terminated) {
          fail(
            ctx,
            map.at(0),
            `unterminated heredoc: no line ${JSON.stringify(doc.name)} ends it`,
            buf,
            `add a line containing only ${doc.name} after the heredoc's content`,
          );
        }
        node.heredocs.push({ ...doc, content });
      }
    }
    node.startLine = startLine;
    node.endLine = current;
    if (node.next) {
      node.next.startLine = startLine;
      node.next.endLine = current;
    }
    instructions.push(node);
  }
  if (instructions.length === 0) {
    throw new DockerfileError({
      file,
      at: { line: Math.max(current, 1), column: 1 },
      problem: 'file with no instructions',
      excerpt: '',
      fix: 'a Dockerfile needs at least a FROM line',
    });
  }
  const directives: Record<string, string> = {};
  for (const [k, v] of d.seen) directives[k] = v;
  return { file, directives, escape: d.escape, instructions, warnings };
}
