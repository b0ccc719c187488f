// Docker's `--secret` syntax (`id=X,src=FILE`, `id=X,env=VAR`, `type=file|env`,
// `id=X` alone) → where each build secret's value comes from, and the loading
// of those values into memory with BuildKit's 500 KiB limit checked up front.
// Never puts a value in an error message or a log; error messages quote ids,
// file paths and variable names only, and never a field's value unless it is
// one of those.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { UserError } from '../errors.js';

/** BuildKit refuses secrets larger than this. */
export const MAX_SECRET_SIZE = 500 * 1024;

/** A parsed `--secret` value, before the environment is consulted. */
export interface SecretSpec {
  id: string;
  /** `type=` as given, or undefined. */
  type?: 'file' | 'env';
  /** `src=`/`source=` as given. */
  src?: string;
  /** `env=` as given. */
  env?: string;
}

/** Where one secret's value comes from, once the environment is known. */
export type SecretSource = { id: string; kind: 'file'; path: string } | { id: string; kind: 'env'; name: string };

const ID_RE = /^[A-Za-z0-9_.-]+$/;

/** Splits a flag's CSV value the way docker does (--secret, --output): quotes group, doubled quotes escape. */
export function splitFields(spec: string, flag = '--secret'): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuotes = false;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i] as string;
    if (inQuotes) {
      if (c === '"') {
        if (spec[i + 1] === '"') {
          cur += '"';
          i++;
        } else inQuotes = false;
      } else cur += c;
    } else if (c === '"' && cur === '') inQuotes = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (inQuotes) throw new UserError(`a ${flag} value has an unclosed quote; close it or drop the quotes.`);
  out.push(cur);
  return out;
}

/** Parses one `--secret` value. Pure: does not look at files or the environment. */
export function parseSecretSpec(spec: string): SecretSpec {
  if (spec.trim() === '') {
    throw new UserError('--secret needs a value such as id=NAME,src=FILE or id=NAME,env=VAR.');
  }
  const fields = splitFields(spec);
  let id: string | undefined;
  let type: 'file' | 'env' | undefined;
  let src: string | undefined;
  let env: string | undefined;
  const unknown: string[] = [];
  let bare = 0;
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq < 0) {
      bare++;
      continue;
    }
    const key = field.slice(0, eq).trim().toLowerCase();
    const value = field.slice(eq + 1);
    switch (key) {
      case 'id':
        id = value;
        break;
      case 'type':
        if (value !== 'file' && value !== 'env') {
          throw new UserError(
            `--secret${id ? ` for id ${id}` : ''} has an unsupported type; use type=file or type=env.`,
          );
        }
        type = value;
        break;
      case 'src':
      case 'source':
        src = value;
        break;
      case 'env':
        env = value;
        break;
      default:
        // The key is the user's own word, safe to name; its value is not echoed.
        unknown.push(key);
    }
  }
  const forId = id ? ` for id ${id}` : '';
  if (bare > 0) {
    throw new UserError(
      `--secret${forId} has a field that is not key=value; write id=NAME with src=FILE or env=VAR (the value itself never goes on the command line).`,
    );
  }
  if (unknown.length > 0) {
    throw new UserError(
      `--secret${forId} has an unknown key ${JSON.stringify(unknown[0])}; the keys are id, type, src (or source) and env.`,
    );
  }
  if (type === 'env' && env === undefined && src !== undefined) {
    // `type=env,src=VAR` names the variable through src, as docker allows.
    env = src;
    src = undefined;
  }
  if (id === undefined || id === '') {
    if (src !== undefined && src !== '' && env === undefined) id = src.replace(/\/+$/, '').split('/').pop() ?? '';
    else if (env !== undefined && env !== '' && src === undefined) id = env;
    if (!id) throw new UserError('--secret needs an id: write id=NAME,src=FILE or id=NAME,env=VAR.');
  }
  if (!ID_RE.test(id)) {
    throw new UserError(`--secret id ${JSON.stringify(id)} is not valid; use letters, digits, '.', '_' and '-'.`);
  }
  if (src !== undefined && env !== undefined) {
    throw new UserError(`--secret for id ${id} gives both src and env; keep one of them.`);
  }
  if (type === 'file' && env !== undefined) {
    throw new UserError(`--secret for id ${id} says type=file but gives env; use src=FILE or type=env.`);
  }
  if (src === '') throw new UserError(`--secret for id ${id} has an empty src; give a file path.`);
  if (env === '') throw new UserError(`--secret for id ${id} has an empty env; give a variable name.`);
  const out: SecretSpec = { id };
  if (type !== undefined) out.type = type;
  if (src !== undefined) out.src = src;
  if (env !== undefined) out.env = env;
  return out;
}

/**
 * Decides where a secret's value comes from. `id=X` alone means the
 * environment variable X when it is set, else the file X (docker's rule).
 */
export function resolveSecretSpec(spec: string | SecretSpec, env: NodeJS.ProcessEnv | Record<string, string | undefined>): SecretSource {
  const s = typeof spec === 'string' ? parseSecretSpec(spec) : spec;
  if (s.env !== undefined) return { id: s.id, kind: 'env', name: s.env };
  if (s.src !== undefined) return { id: s.id, kind: 'file', path: s.src };
  if (s.type === 'env') return { id: s.id, kind: 'env', name: s.id };
  if (s.type === 'file') return { id: s.id, kind: 'file', path: s.id };
  if (Object.prototype.hasOwnProperty.call(env, s.id) && env[s.id] !== undefined) {
    return { id: s.id, kind: 'env', name: s.id };
  }
  return { id: s.id, kind: 'file', path: s.id };
}

function tooLarge(id: string, size: number): UserError {
  return new UserError(
    `secret ${id} is ${size} bytes, over BuildKit's limit of ${MAX_SECRET_SIZE} bytes (500 KiB); pass a smaller value or mount the data another way.`,
  );
}

function readCapped(id: string, shown: string, stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    stream.on('data', (chunk: Buffer | string) => {
      if (done) return;
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += b.length;
      if (size > MAX_SECRET_SIZE) {
        done = true;
        const destroy = (stream as { destroy?: () => void }).destroy;
        if (destroy) destroy.call(stream);
        else stream.pause();
        chunks.length = 0;
        reject(
          new UserError(
            `secret ${id} read from ${shown} is over BuildKit's limit of ${MAX_SECRET_SIZE} bytes (500 KiB); pass a smaller value.`,
          ),
        );
        return;
      }
      chunks.push(b);
    });
    stream.on('error', (err: NodeJS.ErrnoException) => {
      done = true;
      reject(new UserError(`secret ${id}: ${shown} cannot be read (${err.code ?? 'error'}); check the src= path.`));
    });
    stream.on('end', () => {
      if (!done) resolvePromise(Buffer.concat(chunks));
    });
  });
}

/**
 * Loads every secret's value into memory, keyed by id. Sizes are checked
 * before anything is read; duplicate ids are an error.
 */
export async function loadSecretValues(
  specs: readonly (string | SecretSpec)[],
  opts: {
    env: NodeJS.ProcessEnv | Record<string, string | undefined>;
    cwd: string;
    /** Read for `src=/dev/stdin` (the caller's stdin, which may be a socket). */
    stdin?: NodeJS.ReadableStream;
  },
): Promise<Map<string, Buffer>> {
  const sources = specs.map((s) => resolveSecretSpec(s, opts.env));
  const seen = new Set<string>();
  for (const s of sources) {
    if (seen.has(s.id)) throw new UserError(`secret ${s.id} is given more than once; pass each --secret id once.`);
    seen.add(s.id);
  }
  // First pass: existence and size only, so nothing is read when any is wrong.
  const plans: { id: string; read: () => Promise<Buffer> }[] = [];
  for (const s of sources) {
    if (s.kind === 'env') {
      const v = opts.env[s.name];
      if (v === undefined) {
        throw new UserError(`secret ${s.id} reads environment variable ${s.name}, which is not set; export it or use src=FILE.`);
      }
      const size = Buffer.byteLength(v, 'utf8');
      if (size > MAX_SECRET_SIZE) throw tooLarge(s.id, size);
      plans.push({ id: s.id, read: async () => Buffer.from(v, 'utf8') });
    } else {
      const path = isAbsolute(s.path) ? s.path : resolve(opts.cwd, s.path);
      const stdin = opts.stdin;
      if (path === '/dev/stdin' && stdin) {
        if (sources.filter((x) => x.kind === 'file' && x.path === '/dev/stdin').length > 1) {
          throw new UserError(`only one secret can be read from /dev/stdin; give the others as files or env vars.`);
        }
        plans.push({ id: s.id, read: () => readCapped(s.id, s.path, stdin) });
        continue;
      }
      let st;
      try {
        st = await stat(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be read (${code ?? 'error'})`;
        throw new UserError(`secret ${s.id}: file ${s.path} ${why}; check the src= path.`);
      }
      if (st.isFIFO() || st.isCharacterDevice()) {
        // A pipe or device (`src=/dev/stdin`) has no size up front: read it
        // once, stopping as soon as it passes the limit.
        plans.push({ id: s.id, read: () => readCapped(s.id, s.path, createReadStream(path, { highWaterMark: 64 * 1024 })) });
        continue;
      }
      if (!st.isFile()) throw new UserError(`secret ${s.id}: ${s.path} is not a regular file; point src= at a file.`);
      if (st.size > MAX_SECRET_SIZE) throw tooLarge(s.id, st.size);
      plans.push({
        id: s.id,
        read: async () => {
          let buf: Buffer;
          try {
            buf = await readFile(path);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code ?? 'error';
            throw new UserError(`secret ${s.id}: file ${s.path} cannot be read (${code}); check its permissions.`);
          }
          // The file may have grown since it was checked.
          if (buf.length > MAX_SECRET_SIZE) throw tooLarge(s.id, buf.length);
          return buf;
        },
      });
    }
  }
  const values = new Map<string, Buffer>();
  for (const p of plans) values.set(p.id, await p.read());
  return values;
}
