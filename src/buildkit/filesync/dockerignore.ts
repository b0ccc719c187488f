// `.dockerignore` parsing and Docker's exclude-pattern matching, as the
// Docker CLI and BuildKit apply them to a build context: patterns are
// cleaned, later patterns override earlier ones, `!` re-includes, `*` and `?`
// stay within one path segment, `**` spans any number of segments, and a
// pattern that matches a directory matches everything under it.
//
// Must never: read anything but the .dockerignore file it is given.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../errors.js';

/** Parses .dockerignore text into cleaned patterns (`!` kept as a prefix). */
export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const raw of lines) {
    let pattern = raw.trim();
    if (pattern === '' || pattern.startsWith('#')) continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = path.posix.normalize(pattern.replace(/\\/g, '/'));
      if (pattern.length > 1 && pattern.endsWith('/')) pattern = pattern.slice(0, -1);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    out.push(invert ? `!${pattern}` : pattern);
  }
  return out;
}

/** Reads `<dir>/.dockerignore`; no file means no patterns. */
export async function readDockerignore(dir: string): Promise<string[]> {
  try {
    return parseDockerignore(await readFile(path.join(dir, '.dockerignore'), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new UserError(`cannot read ${path.join(dir, '.dockerignore')} (${(err as NodeJS.ErrnoException).code ?? 'error'}); check its permissions.`);
  }
}

interface CompiledPattern {
  text: string;
  exclusion: boolean;
  dirs: number;
  regex: RegExp;
}

/** Docker's PatternMatcher: the last matching pattern decides. */
export class PatternMatcher {
  readonly patterns: readonly CompiledPattern[];
  /** True when no pattern has a wildcard or escape: matching is then a prefix test. */
  readonly #literal: boolean;

  constructor(patterns: string[]) {
    const compiled: CompiledPattern[] = [];
    for (const original of patterns) {
      let p = original.trim();
      if (p === '') continue;
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw new UserError('the exclude pattern "!" is not valid; write the path to re-include after the "!".');
        exclusion = true;
        p = p.slice(1);
      }
      p = path.posix.normalize(p);
      if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
      compiled.push({ text: p, exclusion, dirs: p.split('/').length, regex: compilePattern(p, original) });
    }
    this.patterns = compiled;
    this.#literal = compiled.every((p) => !/[*?[\\]/.test(p.text) && p.text !== '.' && !p.text.startsWith('../') && p.text !== '..');
  }

  /** True when some pattern re-includes (`!`). */
  get hasExclusions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** Whether the slash-separated relative path is excluded. */
  matches(file: string): boolean {
    if (this.#literal) {
      // No pattern has a wildcard: a pattern matches the path or one of its parent directories.
      let matched = false;
      for (const p of this.patterns) {
        if (file.startsWith(p.text) && (file.length === p.text.length || file.charCodeAt(p.text.length) === 0x2f)) matched = !p.exclusion;
      }
      return matched;
    }
    const parent = path.posix.dirname(file);
    const parentDirs = parent.split('/');
    let matched = false;
    for (const p of this.patterns) {
      let match = p.regex.test(file);
      if (!match && parent !== '.' && p.dirs <= parentDirs.length) {
        match = p.regex.test(parentDirs.slice(0, p.dirs).join('/'));
      }
      if (match) matched = !p.exclusion;
    }
    return matched;
  }
}

function compilePattern(pattern: string, original: string): RegExp {
  let re = '^';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (inClass) {
      if (ch === ']') inClass = false;
      if (ch === '\\' && i + 1 < pattern.length) {
        re += `\\${pattern[++i]}`;
        continue;
      }
      re += ch === '/' ? '' : ch;
      continue;
    }
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '[') {
      inClass = true;
      re += '[';
      if (pattern[i + 1] === '!' || pattern[i + 1] === '^') {
        re += '^';
        i++;
      }
    } else if (ch === '\\') {
      re += i + 1 < pattern.length ? escapeRegex(pattern[++i]!) : '\\\\';
    } else {
      re += escapeRegex(ch);
    }
  }
  re += '$';
  try {
    return new RegExp(re, 's');
  } catch {
    throw new UserError(`the exclude pattern ${JSON.stringify(original)} is not valid; check its brackets.`);
  }
}

function escapeRegex(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? `\\${ch}` : ch;
}
