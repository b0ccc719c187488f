// Shell-style word processing for Dockerfiles: quote removal, escapes and
// variable expansion (`$v`, `${v:-d}`, `${v#p}`, `${v/p/r}`, ...), with the
// same results as BuildKit's shell lexer, so a word expands here exactly as it
// would in `docker build`. Pure: it never reads the process environment; every
// value comes from the EnvLookup it is given.

/** Where variable values come from. `get` returns undefined for an unset name. */
export interface EnvLookup {
  get(name: string): string | undefined;
}

export interface ShellLexOptions {
  /** The Dockerfile's escape token: `\` (default) or a backtick. */
  escape?: string;
  /** Keep quote characters in the output (they still group words). */
  rawQuotes?: boolean;
  /** Keep escape tokens in the output (they still escape). */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters. */
  skipProcessQuotes?: boolean;
  /** Leave references to unset variables as they were written. */
  skipUnsetEnv?: boolean;
}

/** The outcome of processing one word. */
export interface ShellWordResult {
  /** The processed word as one string (spaces kept). */
  result: string;
  /** The processed word split into fields, as the shell would. */
  words: string[];
  /** Variable names that were set when referenced. */
  matched: Set<string>;
  /** Variable names that were referenced while unset. */
  unmatched: Set<string>;
}

/** A problem in a word (bad substitution, unmatched quote, `${v:?}`). */
export class ShellSyntaxError extends Error {
  constructor(
    message: string,
    /** For `${v:?msg}` errors: the variable that was unset or empty. */
    readonly requiredVariable?: string,
  ) {
    super(message);
    this.name = 'ShellSyntaxError';
  }
}

const EOF = -1;

/** Go's unicode.IsSpace, which differs from JavaScript's \s (U+0085 yes, U+FEFF no). */
export function isGoSpace(cp: number): boolean {
  if (cp <= 0xff) {
    return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d) || cp === 0x85 || cp === 0xa0;
  }
  return (
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

const letterRe = /^\p{L}$/u;
const digitRe = /^\p{Nd}$/u;
function isLetter(cp: number): boolean {
  if (cp < 0x80) return (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  return letterRe.test(String.fromCodePoint(cp));
}
function isDigit(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x30 && cp <= 0x39;
  return digitRe.test(String.fromCodePoint(cp));
}

// Positional and special parameters: `$1`, `$@`, `$?` and friends.
function isSpecialParam(cp: number): boolean {
  switch (String.fromCodePoint(cp)) {
    case '@':
    case '*':
    case '#':
    case '?':
    case '-':
    case '$':
    case '!':
    case '0':
      return true;
    default:
      return false;
  }
}

// Field splitting as the shell does it: unquoted whitespace separates words,
// quoted text and expansions inside quotes stay in one word.
class WordCollector {
  buf = '';
  words: string[] = [];
  inWord = false;
  addChar(cp: number): void {
    if (isGoSpace(cp)) {
      if (this.inWord && this.buf.length !== 0) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(cp);
    }
  }
  addRawChar(cp: number): void {
    this.buf += String.fromCodePoint(cp);
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch.codePointAt(0) as number);
  }
  addRawString(s: string): void {
    this.buf += s;
    this.inWord = true;
  }
  finish(): string[] {
    if (this.buf.length > 0) {
      this.words.push(this.buf);
      this.buf = '';
      this.inWord = false;
    }
    return this.words;
  }
}

class WordScanner {
  private pos = 0;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();
  private rawEscapes: boolean;
  private readonly escape: number;

  constructor(
    private readonly src: string,
    private readonly env: EnvLookup,
    private readonly opts: ShellLexOptions,
  ) {
    this.rawEscapes = opts.rawEscapes ?? false;
    this.escape = (opts.escape ?? '\\').codePointAt(0) as number;
  }

  peek(): number {
    if (this.pos >= this.src.length) return EOF;
    return this.src.codePointAt(this.pos) as number;
  }

  next(): number {
    if (this.pos >= this.src.length) return EOF;
    const cp = this.src.codePointAt(this.pos) as number;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private getEnv(name: string): string | undefined {
    const v = this.env.get(name);
    if (v !== undefined) this.matched.add(name);
    else this.unmatched.add(name);
    return v;
  }

  processStopOn(stop: number, rawEscapes: boolean): { result: string; words: string[] } {
    let result = '';
    const words = new WordCollector();
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      const quotes = !this.opts.skipProcessQuotes;
      while (this.peek() !== EOF) {
        let ch = this.peek();
        if (stop !== EOF && ch === stop) {
          this.next();
          return { result, words: words.finish() };
        }
        if (ch === 0x24 /* $ */) {
          const tmp = this.processDollar();
          result += tmp;
          words.addString(tmp);
        } else if (ch === 0x3c /* < */) {
          const tmp = this.processPossibleHeredoc();
          result += tmp;
          words.addRawString(tmp);
        } else if (quotes && ch === 0x27 /* ' */) {
          const tmp = this.processSingleQuote();
          result += tmp;
          words.addRawString(tmp);
        } else if (quotes && ch === 0x22 /* " */) {
          const tmp = this.processDoubleQuote();
          result += tmp;
          words.addRawString(tmp);
        } else {
          ch = this.next();
          if (ch === this.escape) {
            if (this.rawEscapes) {
              words.addRawChar(ch);
              result += String.fromCodePoint(ch);
            }
            ch = this.next();
            if (ch === EOF) break;
            words.addRawChar(ch);
          } else {
            words.addChar(ch);
          }
          result += String.fromCodePoint(ch);
        }
      }
      if (stop !== EOF) {
        throw new ShellSyntaxError(
          `unexpected end of statement while looking for matching ${String.fromCodePoint(stop)}`,
        );
      }
      return { result, words: words.finish() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    // Everything up to the next single quote is literal; it cannot be escaped.
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += String.fromCodePoint(open);
    for (;;) {
      const ch = this.next();
      if (ch === EOF) {
        throw new ShellSyntaxError('unexpected end of statement while looking for matching single-quote');
      }
      if (ch === 0x27) {
        if (this.opts.rawQuotes) result += "'";
        return result;
      }
      result += String.fromCodePoint(ch);
    }
  }

  private processDoubleQuote(): string {
    // Literal except `$`, and the escape token before `"`, `$` or itself.
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += String.fromCodePoint(open);
    for (;;) {
      const p = this.peek();
      if (p === EOF) {
        throw new ShellSyntaxError('unexpected end of statement while looking for matching double-quote');
      }
      if (p === 0x22) {
        this.next();
        if (this.opts.rawQuotes) result += '"';
        return result;
      }
      if (p === 0x24) {
        result += this.processDollar();
        continue;
      }
      let ch = this.next();
      if (ch === this.escape) {
        if (this.rawEscapes) result += String.fromCodePoint(ch);
        const n = this.peek();
        if (n === EOF) continue;
        if (n === 0x22 || n === 0x24 || n === this.escape) ch = this.next();
      }
      result += String.fromCodePoint(ch);
    }
  }

  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name.length === 0 && isDigit(ch)) {
        while (this.peek() !== EOF && isDigit(this.peek())) name += String.fromCodePoint(this.next());
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) {
        return String.fromCodePoint(this.next());
      }
      if (!isLetter(ch) && !isDigit(ch) && ch !== 0x5f) break;
      name += String.fromCodePoint(this.next());
    }
    return name;
  }

  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== 0x3c) return '<';
    this.next();
    let space = '';
    for (let c = this.peek(); c === 0x09 || c === 0x0d || c === 0x20; c = this.peek()) {
      space += String.fromCodePoint(c);
      this.next();
    }
    return '<<' + space;
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== 0x7b /* { */) {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return '$' + name;
      return value ?? '';
    }
    this.next();
    const first = this.peek();
    if (first === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
    if (first === 0x7b || first === 0x7d || first === 0x3a) {
      throw new ShellSyntaxError('syntax error: bad substitution');
    }
    const name = this.processName();
    let ch = this.next();
    if (ch === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
    let chs = ch === EOF ? '\uFFFD' : String.fromCodePoint(ch);
    let nullIsUnset = false;

    if (ch === 0x7d /* } */) {
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}}`;
      return value ?? '';
    }
    if (ch === 0x3a /* : */) {
      nullIsUnset = true;
      ch = this.next();
      chs += ch === EOF ? '' : String.fromCodePoint(ch);
    }
    if (nullIsUnset || ch === 0x2b || ch === 0x2d || ch === 0x3f || ch === 0x23 || ch === 0x25) {
      const modifier = ch;
      const raw = modifier === 0x23 || modifier === 0x25;
      if (nullIsUnset && raw) throw new ShellSyntaxError(`unsupported modifier (${chs}) in substitution`);
      let word: string;
      try {
        word = this.processStopOn(0x7d, raw).result;
      } catch (err) {
        if (this.peek() === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
        throw err;
      }
      const value = this.getEnv(name);
      if (this.opts.skipUnsetEnv && value === undefined) return `\${${name}${chs}${word}}`;
      const unsetLike = value === undefined || (nullIsUnset && value === '');
      switch (modifier) {
        case 0x2d /* - */:
          return unsetLike ? word : (value as string);
        case 0x2b /* + */:
          return unsetLike ? '' : word;
        case 0x3f /* ? */:
          if (value === undefined) {
            throw new ShellSyntaxError(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`, name);
          }
          if (nullIsUnset && value === '') {
            throw new ShellSyntaxError(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`, name);
          }
          return value;
        case 0x25 /* % */:
        case 0x23 /* # */: {
          let greedy = false;
          if (word.length > 0 && word.codePointAt(0) === modifier) {
            greedy = true;
            word = word.slice(1);
          }
          return modifier === 0x25 ? trimSuffix(word, value ?? '', greedy) : trimPrefix(word, value ?? '', greedy);
        }
        default:
          throw new ShellSyntaxError(`unsupported modifier (${chs}) in substitution`);
      }
    }
    if (ch === 0x2f /* / */) {
      const replaceAll = this.peek() === 0x2f;
      if (replaceAll) this.next();
      let pattern: string;
      try {
        pattern = this.processStopOn(0x2f, true).result;
      } catch (err) {
        if (this.peek() === EOF) throw new ShellSyntaxError("syntax error: missing '/' in ${}");
        throw err;
      }
      let replacement: string;
      try {
        replacement = this.processStopOn(0x7d, true).result;
      } catch (err) {
        if (this.peek() === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
        throw err;
      }
      const value = this.getEnv(name);
      if (this.opts.skipUnsetEnv && value === undefined) return `\${${name}/${pattern}/${replacement}}`;
      const re = shellPatternToRegExp(pattern, true, false, replaceAll);
      const v = value ?? '';
      if (replaceAll) return replaceAllLikeGo(v, re, replacement);
      const m = re.exec(v);
      if (!m) return v;
      return v.slice(0, m.index) + replacement + v.slice(m.index + m[0].length);
    }
    throw new ShellSyntaxError(`unsupported modifier (${chs}) in substitution`);
  }
}

// A shell wildcard pattern (`*`, `?`, `\` escapes; no bracket expressions) as
// a regular expression.
function shellPatternToRegExp(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  let out = anchored ? '^' : '';
  const star = greedy ? '.*' : '.*?';
  const cps = Array.from(pattern);
  for (let i = 0; i < cps.length; i++) {
    const tok = cps[i] as string;
    switch (tok) {
      case '*':
        out += star;
        continue;
      case '?':
        out += '.';
        continue;
      case '\\': {
        const nxt = cps[i + 1];
        // `\}` and `\/` only keep `}` and `/` from ending the ${} expression.
        if (nxt === '}' || nxt === '/') continue;
        i++;
        if (nxt !== '*' && nxt !== '?' && nxt !== '\\') {
          throw new ShellSyntaxError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${nxt ?? ''}'`);
        }
        out += '\\' + nxt;
        continue;
      }
      case '[':
      case ']':
      case '{':
      case '}':
      case '.':
      case '+':
      case '(':
      case ')':
      case '|':
      case '^':
      case '$':
        out += '\\' + tok;
        continue;
      default:
        out += tok;
    }
  }
  return new RegExp(out, global ? 'gu' : 'u');
}

// Successive non-overlapping matches; an empty match right after a match is
// skipped, so `${v//*/x}` gives one `x`, as in Go, not two.
function replaceAllLikeGo(value: string, re: RegExp, replacement: string): string {
  let out = '';
  let last = 0;
  let prevEnd = -1;
  re.lastIndex = 0;
  for (;;) {
    const m = re.exec(value);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    if (!(m[0].length === 0 && start === prevEnd)) {
      out += value.slice(last, start) + replacement;
      last = end;
    }
    prevEnd = end;
    if (m[0].length === 0) {
      if (start >= value.length) break;
      const cp = value.codePointAt(start) as number;
      re.lastIndex = start + (cp > 0xffff ? 2 : 1);
    }
  }
  return out + value.slice(last);
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegExp(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

// Reverses a pattern but keeps each escape before the character it escapes.
function reversePattern(pattern: string): string {
  const cps = Array.from(pattern);
  const out = new Array<string>(cps.length);
  const last = cps.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = cps[i] as string;
    const o = last - i;
    if (tok === '\\' && i !== last) {
      out[o - 1] = tok;
      out[o] = cps[i + 1] as string;
      i += 2;
    } else {
      out[o] = tok;
      i++;
    }
  }
  return out.join('');
}

function reverseString(s: string): string {
  return Array.from(s).reverse().join('');
}

// Regular expressions find the leftmost match, so the shortest or longest
// suffix is found by matching a reversed pattern against the reversed value.
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}

/** Processes one word: quotes, escapes and variables, with the given options. */
export function processWord(word: string, env: EnvLookup, opts: ShellLexOptions = {}): ShellWordResult {
  const sc = new WordScanner(word, env, opts);
  try {
    const { result, words } = sc.processStopOn(EOF, opts.rawEscapes ?? false);
    return { result, words, matched: sc.matched, unmatched: sc.unmatched };
  } catch (err) {
    if (err instanceof ShellSyntaxError) {
      throw new ShellSyntaxError(`failed to process ${JSON.stringify(word)}: ${err.message}`, err.requiredVariable);
    }
    throw err;
  }
}

/** Expands a word to one string, as BuildKit does for ENV, COPY, WORKDIR and the like. */
export function expandWord(word: string, env: EnvLookup, escape = '\\'): string {
  return processWord(word, env, { escape }).result;
}

/** Expands and splits a word into fields, as BuildKit does for EXPOSE. */
export function expandWords(word: string, env: EnvLookup, escape = '\\'): string[] {
  return processWord(word, env, { escape }).words;
}

/** An EnvLookup over a Map or a plain record. */
export function envFrom(source: ReadonlyMap<string, string> | Readonly<Record<string, string>>): EnvLookup {
  if (source instanceof Map) return { get: (k) => source.get(k) };
  const rec = source as Readonly<Record<string, string>>;
  return { get: (k) => (Object.prototype.hasOwnProperty.call(rec, k) ? rec[k] : undefined) };
}

export const emptyEnv: EnvLookup = { get: () => undefined };
