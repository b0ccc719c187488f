// `RUN --mount=...` options → typed mounts (secret, cache, bind, tmpfs, ssh)
// with BuildKit's defaults and validation. Errors name the option at fault;
// they quote the mount spec (Dockerfile text), never a secret value, which
// this module never sees.

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type CacheSharing = 'shared' | 'private' | 'locked';

interface MountCommon {
  /** The `--mount` value as written. */
  spec: string;
  /** Line of the RUN instruction. */
  line: number;
  /** True when some option held a `$` reference that is only known at build time. */
  unexpanded: boolean;
}

/** A build secret exposed to one RUN step (a file on tmpfs and/or an env var). */
export interface SecretMount extends MountCommon {
  type: 'secret';
  id: string;
  /** Absolute path of the file, or null when only `env` was asked for. */
  target: string | null;
  /** Environment variable that receives the value, or null. */
  env: string | null;
  required: boolean;
  mode: number;
  uid: number;
  gid: number;
}

export interface CacheMount extends MountCommon {
  type: 'cache';
  /** Cache id; defaults to the target path. */
  id: string;
  target: string;
  readOnly: boolean;
  sharing: CacheSharing;
  /** Stage or image whose path seeds the cache. */
  from: string;
  source: string;
  mode: number;
  uid: number;
  gid: number;
}

export interface BindMount extends MountCommon {
  type: 'bind';
  target: string;
  /** Path in `from` (or the build context); defaults to its root. */
  source: string;
  from: string;
  readOnly: boolean;
}

export interface TmpfsMount extends MountCommon {
  type: 'tmpfs';
  target: string;
  /** Size limit in bytes, 0 for none. */
  size: number;
}

/** An SSH agent socket forwarded to one RUN step. */
export interface SshMount extends MountCommon {
  type: 'ssh';
  id: string;
  target: string;
  required: boolean;
  mode: number;
  uid: number;
  gid: number;
}

export type RunMount = SecretMount | CacheMount | BindMount | TmpfsMount | SshMount;

/** A mount-option problem; the instruction layer adds file, line and column. */
export class MountSpecError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(message);
    this.name = 'MountSpecError';
  }
}

const MOUNT_TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING: readonly CacheSharing[] = ['shared', 'private', 'locked'];
export const MOUNT_KEYS = [
  'type',
  'from',
  'source',
  'src',
  'target',
  'dst',
  'destination',
  'readonly',
  'ro',
  'readwrite',
  'rw',
  'id',
  'sharing',
  'required',
  'size',
  'mode',
  'uid',
  'gid',
  'env',
] as const;

/** Splits one CSV record the way Go's encoding/csv does (quotes, doubled quotes). */
export function splitCsvRecord(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  const n = line.length;
  if (n === 0) return [''];
  for (;;) {
    if (line[i] === '"') {
      let field = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new MountSpecError('extraneous or missing " in quoted-field', 'close the quoted value');
        field += line.slice(i, q);
        i = q + 1;
        if (line[i] === '"') {
          field += '"';
          i++;
          continue;
        }
        break;
      }
      fields.push(field);
      if (i === n) return fields;
      if (line[i] !== ',') {
        throw new MountSpecError('extraneous or missing " in quoted-field', 'put a comma right after the closing quote');
      }
      i++;
      if (i === n) {
        fields.push('');
        return fields;
      }
    } else {
      const comma = line.indexOf(',', i);
      const field = comma < 0 ? line.slice(i) : line.slice(i, comma);
      if (field.includes('"')) {
        throw new MountSpecError('bare " in non-quoted field', 'quote the whole value, doubling inner quotes');
      }
      fields.push(field);
      if (comma < 0) return fields;
      i = comma + 1;
      if (i === n) {
        fields.push('');
        return fields;
      }
    }
  }
}

/** Go's path.Clean: the shortest equivalent slash path (`.` for an empty one). */
export function goPathClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/** Go's path.Base: the last element, `.` for an empty path, `/` for the root. */
export function pathBase(p: string): string {
  if (p === '') return '.';
  let s = p.replace(/\/+$/, '');
  if (s === '') return '/';
  const i = s.lastIndexOf('/');
  if (i >= 0) s = s.slice(i + 1);
  return s;
}

// Go's strconv.ParseBool spellings.
const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function parseBool(key: string, value: string): boolean {
  if (TRUE_WORDS.has(value)) return true;
  if (FALSE_WORDS.has(value)) return false;
  throw new MountSpecError(`invalid value for ${key}: ${JSON.stringify(value)}`, `${key} takes true or false`);
}

function parseUint(key: string, value: string, base: 8 | 10): number {
  const re = base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  const v = value.replace(/_/g, '');
  // Go accepts a 0o prefix for base 8 only via base 0; keep to plain digits.
  if (!re.test(v) || v !== value) {
    throw new MountSpecError(
      `invalid value ${value} for ${key}`,
      base === 8 ? `${key} takes an octal number such as 0400` : `${key} takes a non-negative integer`,
    );
  }
  const n = parseInt(v, base);
  if (n > 0xffffffff) throw new MountSpecError(`invalid value ${value} for ${key}`, `${key} is too large`);
  return n;
}

// docker/go-units RAMInBytes: a number with an optional binary unit suffix.
function parseSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(value);
  if (!m) {
    throw new MountSpecError(`invalid value for size: ${JSON.stringify(value)}`, 'size takes bytes or a unit such as 64m');
  }
  const units: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
  const mult = m[2] ? (units[m[2].toLowerCase()] as number) : 1;
  return Math.floor(Number(m[1]) * mult);
}

function closest(word: string, options: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o);
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] as number;
      prev[j] = Math.min((prev[j] as number) + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length] as number;
}

/** Expands `$VAR` references in option values; identity when none is given. */
export type MountValueExpander = (word: string) => string;

/**
 * Parses one `--mount` value. Without an expander, values that reference
 * variables are kept as written and not validated (they are checked again
 * when the compiler expands them); everything else is validated now.
 */
export function parseRunMount(spec: string, line: number, expand?: MountValueExpander): RunMount {
  const fields = splitCsvRecord(spec);
  let type: MountType = 'bind';
  let from = '';
  let source = '';
  let target = '';
  let readOnly: boolean | undefined;
  let sizeLimit = 0;
  let id = '';
  let idSet = false;
  let sharing: CacheSharing | '' = '';
  let required = false;
  let env: string | null = null;
  let mode: number | null = null;
  let uid: number | null = null;
  let gid: number | null = null;
  let unexpanded = false;

  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      switch (key) {
        case 'readonly':
        case 'ro':
          readOnly = true;
          continue;
        case 'readwrite':
        case 'rw':
          readOnly = false;
          continue;
        case 'required':
          if (type === 'secret' || type === 'ssh') {
            required = true;
            continue;
          }
          throw new MountSpecError(`unexpected key '${key}' for mount type '${type}'`, 'required applies to secret and ssh mounts');
        default:
          throw new MountSpecError(
            `invalid field '${field}' must be a key=value pair`,
            field === '' ? 'remove the empty field between commas' : `write ${field}=VALUE`,
          );
      }
    }
    let value = field.slice(eq + 1);
    if (key === 'from' && !expand) {
      const d = value.indexOf('$');
      if (d !== -1 && d !== value.length - 1) {
        throw new MountSpecError(`'from' doesn't support variable expansion`, 'define an alias stage with FROM instead');
      }
    }
    if (expand) value = expand(value);
    const deferred = !expand && value.includes('$');
    if (deferred) unexpanded = true;
    switch (key) {
      case 'type': {
        if (deferred) {
          // The type is only known at build time; nothing else can be checked yet.
          return { spec, line, unexpanded: true, type: 'bind', target, source: '', from: '', readOnly: true };
        }
        const v = value.toLowerCase() as MountType;
        if (!MOUNT_TYPES.includes(v)) {
          const s = closest(value, MOUNT_TYPES);
          throw new MountSpecError(
            `unsupported mount type ${JSON.stringify(value)}`,
            s ? `did you mean ${s}?` : `use one of ${MOUNT_TYPES.join(', ')}`,
          );
        }
        type = v;
        break;
      }
      case 'from':
        from = value;
        break;
      case 'source':
      case 'src':
        source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        target = value;
        break;
      case 'readonly':
      case 'ro':
        if (!deferred) readOnly = parseBool(key, value);
        break;
      case 'readwrite':
      case 'rw':
        if (!deferred) readOnly = !parseBool(key, value);
        break;
      case 'required':
        if (type !== 'secret' && type !== 'ssh') {
          throw new MountSpecError(`unexpected key '${key}' for mount type '${type}'`, 'required applies to secret and ssh mounts');
        }
        if (!deferred) required = parseBool(key, value);
        break;
      case 'size':
        if (type !== 'tmpfs') {
          throw new MountSpecError(`unexpected key '${key}' for mount type '${type}'`, 'size applies to tmpfs mounts');
        }
        if (!deferred) sizeLimit = parseSize(value);
        break;
      case 'id':
        id = value;
        idSet = true;
        break;
      case 'sharing': {
        const v = value.toLowerCase() as CacheSharing;
        if (!deferred && !SHARING.includes(v)) {
          throw new MountSpecError(`unsupported sharing value ${JSON.stringify(value)}`, `use one of ${SHARING.join(', ')}`);
        }
        sharing = v;
        break;
      }
      case 'mode':
        if (!deferred) mode = parseUint('mode', value, 8);
        break;
      case 'uid':
        if (!deferred) uid = parseUint('uid', value, 10);
        break;
      case 'gid':
        if (!deferred) gid = parseUint('gid', value, 10);
        break;
      case 'env':
        env = value;
        break;
      default: {
        const s = closest(key, MOUNT_KEYS);
        throw new MountSpecError(
          `unexpected key '${key}' in '${field}'`,
          s ? `did you mean ${s}?` : `the options are ${MOUNT_KEYS.join(', ')}`,
        );
      }
    }
  }

  const fileInfoAllowed = type === 'secret' || type === 'ssh' || type === 'cache';
  if (!fileInfoAllowed) {
    const given = mode !== null ? 'mode' : uid !== null ? 'uid' : gid !== null ? 'gid' : '';
    if (given !== '') throw new MountSpecError(`${given} not allowed for "${type}" type mounts`, `remove ${given}`);
  }
  const ro = readOnly ?? !(type === 'cache' || type === 'tmpfs');
  if (sharing !== '' && type !== 'cache') {
    throw new MountSpecError(`invalid cache sharing set for ${type} mount`, 'sharing applies to cache mounts');
  }

  switch (type) {
    case 'secret': {
      if (from !== '') throw new MountSpecError('secret mount should not have a from', 'remove from');
      if (source === '' && target === '' && !idSet) {
        throw new MountSpecError('invalid secret mount: one of id, source or target is required', 'add id=NAME');
      }
      if (source !== '' && idSet) throw new MountSpecError("both source and id can't be set", 'keep only id');
      let sid = source !== '' ? source : id;
      if (sid === '') sid = pathBase(target);
      let tgt: string | null = target !== '' ? target : null;
      if (env === null && tgt === null) tgt = `/run/secrets/${pathBase(sid)}`;
      return {
        spec, line, unexpanded,
        type,
        id: sid,
        target: tgt,
        env: env === '' ? sid : env,
        required,
        mode: mode ?? 0o400,
        uid: uid ?? 0,
        gid: gid ?? 0,
      };
    }
    case 'ssh': {
      if (source !== '') throw new MountSpecError('ssh does not support source', 'name the agent with id= instead');
      const sid = id !== '' ? id : 'default';
      return {
        spec, line, unexpanded,
        type,
        id: sid,
        target: target !== '' ? target : '/run/buildkit/ssh_agent.0',
        required,
        mode: mode ?? 0o600,
        uid: uid ?? 0,
        gid: gid ?? 0,
      };
    }
    case 'cache':
      // An empty or relative target is resolved against WORKDIR by the compiler.
      return {
        spec, line, unexpanded,
        type,
        id: id !== '' ? id : goPathClean(target),
        target,
        readOnly: ro,
        sharing: sharing === '' ? 'shared' : sharing,
        from,
        source,
        mode: mode ?? 0o755,
        uid: uid ?? 0,
        gid: gid ?? 0,
      };
    case 'tmpfs':
      return { spec, line, unexpanded, type, target, size: sizeLimit };
    case 'bind':
      return { spec, line, unexpanded, type, target, source, from, readOnly: ro };
  }
}
