// Parses dotenv text (what `hangar secrets import` reads from stdin) into
// name/value pairs: `NAME=value`, optional `export `, comments, single quotes
// (literal), double quotes (escapes \n \r \t \" \\ \$, multi-line), backquotes.
// Errors name the line, never echo a value.
import { UserError } from '../errors.js';

export interface DotenvEntry {
  name: string;
  value: Buffer;
  line: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseDotenv(input: Buffer | string): DotenvEntry[] {
  const text = typeof input === 'string' ? input : input.toString('utf8');
  const src = text.replace(/\r\n/g, '\n');
  const out: DotenvEntry[] = [];
  let i = 0;
  let line = 1;
  const n = src.length;
  while (i < n) {
    // Skip blank space and comment lines.
    while (i < n && (src[i] === ' ' || src[i] === '\t')) i++;
    if (i >= n) break;
    if (src[i] === '\n') {
      i++;
      line++;
      continue;
    }
    if (src[i] === '#') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    const startLine = line;
    let eq = i;
    while (eq < n && src[eq] !== '=' && src[eq] !== '\n') eq++;
    if (eq >= n || src[eq] !== '=') {
      throw new UserError(`line ${startLine} of the input is not NAME=VALUE; fix it or comment it out with #.`);
    }
    let name = src.slice(i, eq).trim();
    if (name.startsWith('export ') || name.startsWith('export\t')) name = name.slice(7).trim();
    if (!NAME.test(name)) {
      throw new UserError(`line ${startLine} has an invalid secret name; names match [A-Za-z_][A-Za-z0-9_]*.`);
    }
    i = eq + 1;
    while (i < n && (src[i] === ' ' || src[i] === '\t')) i++;
    let value = '';
    const q = src[i];
    if (q === '"' || q === "'" || q === '`') {
      i++;
      let closed = false;
      while (i < n) {
        const ch = src[i]!;
        if (ch === q) {
          closed = true;
          i++;
          break;
        }
        if (ch === '\n') line++;
        if (q === '"' && ch === '\\' && i + 1 < n) {
          const e = src[i + 1]!;
          const map: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$' };
          if (e in map) {
            value += map[e];
            i += 2;
            continue;
          }
        }
        value += ch;
        i++;
      }
      if (!closed) throw new UserError(`the quoted value of ${name} (line ${startLine}) has no closing ${q}; close the quote.`);
      // After the closing quote only blanks and a comment may follow.
      while (i < n && (src[i] === ' ' || src[i] === '\t')) i++;
      if (i < n && src[i] === '#') while (i < n && src[i] !== '\n') i++;
      if (i < n && src[i] !== '\n') {
        throw new UserError(`line ${line} has text after the closing quote of ${name}; remove it or quote the whole value.`);
      }
    } else {
      let end = i;
      while (end < n && src[end] !== '\n') end++;
      value = src.slice(i, end);
      // An unquoted value ends at a comment that follows a blank.
      const hash = value.search(/[ \t]#/);
      if (hash >= 0) value = value.slice(0, hash);
      value = value.trim();
      i = end;
    }
    out.push({ name, value: Buffer.from(value, 'utf8'), line: startLine });
  }
  return out;
}
