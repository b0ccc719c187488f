// The LLB graph builder: typed values for BuildKit's ops (image and local
// sources, exec with its mounts, file actions) that link to each other by
// reference. `marshalDefinition` in ./definition.ts turns a graph into the
// bytes BuildKit solves. Pure: no sockets, no files, no clock.
//
// Must never: put a secret value into an op (a secret mount carries only its
// id; the value is fetched over the session when the step runs), or produce
// different bytes for the same graph (digests are cache keys).
//
// Usage:
//   const base = image('docker.io/library/busybox:latest');
//   const ctx = local('context', { sessionId, excludePatterns: ['.git'] });
//   const run = exec(base, {
//     args: ['/bin/sh', '-c', 'wc -c < /run/secrets/token'],
//     mounts: [
//       { type: 'secret', dest: '/run/secrets/token', id: 'token' },
//       { type: 'bind', dest: '/src', source: ctx, readonly: true },
//       { type: 'cache', dest: '/root/.cache', id: 'pip', sharing: 'locked' },
//     ],
//     network: 'host',
//   }, { customName: 'RUN wc -c' });
//   const out = file(run.root, [mkdir('/app', 0o755), copy(ctx, '/', '/app')]);
//   const def = marshalDefinition(out, { platform: { os: 'linux', architecture: 'amd64' } });

/** A platform as BuildKit names them (`linux`, `amd64`, `v8`). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Metadata that does not change an op's digest. */
export interface OpOptions {
  /** Shown by the progress view instead of BuildKit's own name. */
  customName?: string;
  /** Extra description entries (BuildKit's `llb.*` keys). */
  description?: Record<string, string>;
  /** Re-run the op even when the cache has it. */
  ignoreCache?: boolean;
  /** Overrides the platform given to `marshalDefinition` for this op. */
  platform?: Platform;
}

/** One output of a vertex; what an op consumes as an input. */
export interface Output {
  readonly vertex: Vertex;
  readonly index: number;
}

/** A filesystem state: an output of some op, or `null` for an empty root (scratch). */
export type State = Output | null;

export type Vertex = SourceVertex | ExecVertex | FileVertex;

interface VertexBase {
  readonly options: OpOptions;
  /** Ops this one reads, in input-index order. */
  readonly inputs: readonly Output[];
  /** BuildKit capability ids the op relies on. */
  readonly caps: readonly string[];
}

export interface SourceVertex extends VertexBase {
  readonly kind: 'source';
  readonly identifier: string;
  readonly attrs: Readonly<Record<string, string>>;
}

export type NetworkMode = 'sandbox' | 'host' | 'none';

export interface ExecMeta {
  args: string[];
  /** `KEY=value` entries, in order. */
  env: string[];
  cwd: string;
  user: string;
  hostname?: string;
  extraHosts?: { host: string; ip: string }[];
}

/** A mount as encoded in the op: inputs already resolved to indexes. */
export interface ResolvedMount {
  input: number;
  output: number;
  dest: string;
  selector: string;
  readonly: boolean;
  type: 'bind' | 'secret' | 'ssh' | 'cache' | 'tmpfs';
  cache?: { id: string; sharing: CacheSharing };
  secret?: { id: string; uid: number; gid: number; mode: number; optional: boolean };
  ssh?: { id: string; uid: number; gid: number; mode: number; optional: boolean };
}

export interface ExecVertex extends VertexBase {
  readonly kind: 'exec';
  readonly meta: ExecMeta;
  readonly mounts: readonly ResolvedMount[];
  readonly network: NetworkMode;
  readonly security: 'sandbox' | 'insecure';
}

export interface FileVertex extends VertexBase {
  readonly kind: 'file';
  readonly actions: readonly ResolvedFileAction[];
}

// ---------------------------------------------------------------- sources

export interface ImageOptions extends OpOptions {
  /** `default`, `pull` or `local`: where BuildKit may take the image from. */
  resolveMode?: 'default' | 'pull' | 'local';
}

/**
 * An image from a registry or the engine's store. Short names are expanded
 * the way Docker does (`busybox` → `docker.io/library/busybox:latest`).
 */
export function image(ref: string, options: ImageOptions = {}): Output {
  const attrs: Record<string, string> = {};
  const caps = ['source.image'];
  if (options.resolveMode && options.resolveMode !== 'default') {
    attrs['image.resolvemode'] = options.resolveMode;
    caps.push('source.image.resolvemode');
  }
  return source(`docker-image://${normalizeImageRef(ref)}`, attrs, caps, options);
}

export interface LocalOptions extends OpOptions {
  /** The build session that serves this directory (FileSync/DiffCopy). */
  sessionId: string;
  /** Lets BuildKit reuse what it received for the same key last time. */
  sharedKeyHint?: string;
  includePatterns?: string[];
  excludePatterns?: string[];
  followPaths?: string[];
}

/** A directory served by the client over the build session (`local://name`). */
export function local(name: string, options: LocalOptions): Output {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new TypeError(`local source name ${JSON.stringify(name)} must be letters, digits, '.', '_' or '-'`);
  }
  const attrs: Record<string, string> = { 'local.session': options.sessionId };
  const caps = ['source.local', 'source.local.sessionid'];
  if (options.sharedKeyHint) {
    attrs['local.sharedkeyhint'] = options.sharedKeyHint;
    caps.push('source.local.sharedkeyhint');
  }
  if (options.includePatterns && options.includePatterns.length > 0) {
    attrs['local.includepattern'] = JSON.stringify(options.includePatterns);
    caps.push('source.local.includepatterns');
  }
  if (options.excludePatterns && options.excludePatterns.length > 0) {
    attrs['local.excludepatterns'] = JSON.stringify(options.excludePatterns);
    caps.push('source.local.excludepatterns');
  }
  if (options.followPaths && options.followPaths.length > 0) {
    attrs['local.followpaths'] = JSON.stringify(options.followPaths);
    caps.push('source.local.followpaths');
  }
  return source(`local://${name}`, attrs, caps, options);
}

export interface HttpOptions extends OpOptions {
  /** The name the downloaded file gets in the source's filesystem. */
  filename?: string;
  /** `sha256:<hex>`: the builder fails the step unless the download has this digest. */
  checksum?: string;
}

/**
 * A file downloaded by the builder (`http://` or `https://`), as `ADD URL`
 * uses it: one file, named `filename`, mode 0600 (the copy sets the final
 * mode and owner).
 */
export function http(url: string, options: HttpOptions = {}): Output {
  if (!/^https?:\/\//.test(url)) throw new TypeError(`${JSON.stringify(url)} is not an http:// or https:// URL`);
  const attrs: Record<string, string> = {};
  const caps = ['source.http'];
  if (options.checksum) {
    attrs['http.checksum'] = options.checksum;
    caps.push('source.http.checksum');
  }
  if (options.filename) attrs['http.filename'] = options.filename;
  return source(url, attrs, caps, options);
}

/** Any source op by identifier (`docker-image://`, `local://`, `git://`, `https://`). */
export function source(
  identifier: string,
  attrs: Record<string, string> = {},
  caps: string[] = [],
  options: OpOptions = {},
): Output {
  const vertex: SourceVertex = {
    kind: 'source',
    identifier,
    attrs: { ...attrs },
    inputs: [],
    caps: withMetaCaps(caps, options),
    options,
  };
  return { vertex, index: 0 };
}

/** Docker's reference normalisation: default registry, `library/`, `:latest`. */
export function normalizeImageRef(ref: string): string {
  if (ref === '' || /\s/.test(ref)) throw new TypeError(`image reference ${JSON.stringify(ref)} is not valid`);
  let name = ref;
  let suffix = '';
  const at = name.indexOf('@');
  if (at >= 0) {
    suffix = name.slice(at);
    name = name.slice(0, at);
  }
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) {
    name = slash >= 0 ? `docker.io/${name}` : `docker.io/library/${name}`;
  }
  const lastPart = name.slice(name.lastIndexOf('/') + 1);
  if (!lastPart.includes(':') && suffix === '') name += ':latest';
  return name + suffix;
}

// ------------------------------------------------------------------- exec

export type CacheSharing = 'shared' | 'private' | 'locked';

export type ExecMount =
  /** A state mounted at dest; writable unless `readonly` (then its changes are an output). */
  | { type: 'bind'; dest: string; source: State; selector?: string; readonly?: boolean }
  /** A persistent cache directory shared between builds by id. */
  | { type: 'cache'; dest: string; id: string; sharing?: CacheSharing; source?: State; selector?: string; readonly?: boolean }
  /** An empty in-memory directory, gone after the step. */
  | { type: 'tmpfs'; dest: string }
  /** A secret served by the session, mounted read-only on a tmpfs for this step only. */
  | { type: 'secret'; dest: string; id: string; uid?: number; gid?: number; mode?: number; optional?: boolean }
  /** An SSH agent socket forwarded from the session. */
  | { type: 'ssh'; dest: string; id?: string; uid?: number; gid?: number; mode?: number; optional?: boolean };

export interface ExecOptions {
  args: string[];
  env?: string[];
  /** Defaults to `/`. */
  cwd?: string;
  user?: string;
  hostname?: string;
  extraHosts?: { host: string; ip: string }[];
  mounts?: ExecMount[];
  /** `host` needs the `network.host` entitlement on the solve. */
  network?: NetworkMode;
  /** `insecure` needs the `security.insecure` entitlement. */
  security?: 'sandbox' | 'insecure';
}

export interface ExecResult {
  /** The root filesystem after the command ran. */
  readonly root: Output;
  /** The state of a writable bind mount after the command ran. */
  mount(dest: string): Output;
  readonly vertex: ExecVertex;
}

/** Numbers an op's inputs in order of first use, adding each to `inputs`; no input (null) is -1. */
function inputNumbering(inputs: Output[]): (state: State) => number {
  return (state) => {
    if (state === null) return -1;
    const found = inputs.findIndex((i) => i.vertex === state.vertex && i.index === state.index);
    if (found >= 0) return found;
    inputs.push(state);
    return inputs.length - 1;
  };
}

/** Runs a command on `root` (null runs it on an empty filesystem). */
export function exec(root: State, options: ExecOptions, opOptions: OpOptions = {}): ExecResult {
  if (options.args.length === 0) throw new TypeError('exec needs at least one argument');
  const inputs: Output[] = [];
  const inputIndex = inputNumbering(inputs);
  const caps = new Set<string>(['exec.meta.base', 'exec.mount.bind']);
  const mounts: ResolvedMount[] = [
    { input: inputIndex(root), output: 0, dest: '/', selector: '', readonly: false, type: 'bind' },
  ];
  let nextOutput = 1;
  const seenDest = new Set<string>(['/']);
  for (const m of options.mounts ?? []) {
    if (!m.dest.startsWith('/')) throw new TypeError(`mount destination ${JSON.stringify(m.dest)} must be an absolute path`);
    if (seenDest.has(m.dest)) throw new TypeError(`two mounts share the destination ${m.dest}`);
    seenDest.add(m.dest);
    switch (m.type) {
      case 'bind': {
        const ro = m.readonly === true;
        if (m.selector) caps.add('exec.mount.selector');
        mounts.push({
          input: inputIndex(m.source),
          output: ro ? -1 : nextOutput++,
          dest: m.dest,
          selector: m.selector ?? '',
          readonly: ro,
          type: 'bind',
        });
        break;
      }
      case 'cache':
        caps.add('exec.mount.cache');
        caps.add('exec.mount.cache.sharing');
        if (m.selector) caps.add('exec.mount.selector');
        mounts.push({
          input: m.source === undefined ? -1 : inputIndex(m.source),
          output: -1,
          dest: m.dest,
          selector: m.selector ?? '',
          readonly: m.readonly === true,
          type: 'cache',
          cache: { id: m.id, sharing: m.sharing ?? 'shared' },
        });
        break;
      case 'tmpfs':
        caps.add('exec.mount.tmpfs');
        mounts.push({ input: -1, output: -1, dest: m.dest, selector: '', readonly: false, type: 'tmpfs' });
        break;
      case 'secret':
        caps.add('exec.mount.secret');
        mounts.push({
          input: -1,
          output: -1,
          dest: m.dest,
          selector: '',
          readonly: false,
          type: 'secret',
          secret: { id: m.id, uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o400, optional: m.optional === true },
        });
        break;
      case 'ssh':
        caps.add('exec.mount.ssh');
        mounts.push({
          input: -1,
          output: -1,
          dest: m.dest,
          selector: '',
          readonly: false,
          type: 'ssh',
          ssh: { id: m.id ?? 'default', uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o600, optional: m.optional === true },
        });
        break;
    }
  }
  const network = options.network ?? 'sandbox';
  const security = options.security ?? 'sandbox';
  if (network !== 'sandbox') caps.add('exec.meta.network');
  if (security !== 'sandbox') caps.add('exec.meta.security');
  // Parents before children, so a mount is never hidden by its parent's.
  const root0 = mounts[0]!;
  const rest = mounts.slice(1).sort((a, b) => compareBytes(a.dest, b.dest));
  const vertex: ExecVertex = {
    kind: 'exec',
    inputs,
    meta: {
      args: [...options.args],
      env: [...(options.env ?? [])],
      cwd: options.cwd ?? '/',
      user: options.user ?? '',
      ...(options.hostname ? { hostname: options.hostname } : {}),
      ...(options.extraHosts ? { extraHosts: options.extraHosts.map((h) => ({ ...h })) } : {}),
    },
    mounts: [root0, ...rest],
    network,
    security,
    caps: withMetaCaps([...caps], opOptions),
    options: opOptions,
  };
  return {
    vertex,
    root: { vertex, index: 0 },
    mount(dest: string): Output {
      const m = vertex.mounts.find((x) => x.dest === dest);
      if (!m || m.output < 0) throw new TypeError(`no writable bind mount at ${dest}`);
      return { vertex, index: m.output };
    },
  };
}

// ------------------------------------------------------------- file ops

export interface ChownSpec {
  user?: number | string;
  group?: number | string;
}

export type FileAction =
  | { action: 'mkdir'; path: string; mode: number; makeParents: boolean; owner?: ChownSpec; timestamp?: number }
  | { action: 'mkfile'; path: string; mode: number; data: Uint8Array; owner?: ChownSpec; timestamp?: number }
  | { action: 'rm'; path: string; allowNotFound: boolean; allowWildcard: boolean }
  | { action: 'copy'; from: State; src: string; dest: string; options: CopyOptions };

export interface CopyOptions {
  owner?: ChownSpec;
  /** Permission bits to set on copied files (otherwise kept). */
  mode?: number;
  followSymlink?: boolean;
  /** Copy a directory's contents rather than the directory itself. */
  dirCopyContents?: boolean;
  /** ADD's behaviour: unpack a local tar archive. */
  attemptUnpack?: boolean;
  createDestPath?: boolean;
  allowWildcard?: boolean;
  allowEmptyWildcard?: boolean;
  /** Modification time (ms since the epoch) to set on copied files. */
  timestamp?: number;
}

export interface ResolvedFileAction {
  input: number;
  secondaryInput: number;
  output: number;
  action: FileAction;
}

export function mkdir(path: string, mode: number, options: { makeParents?: boolean; owner?: ChownSpec; timestamp?: number } = {}): FileAction {
  return { action: 'mkdir', path, mode, makeParents: options.makeParents ?? true, ...pickOwnerTime(options) };
}

export function mkfile(path: string, mode: number, data: Uint8Array | string, options: { owner?: ChownSpec; timestamp?: number } = {}): FileAction {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return { action: 'mkfile', path, mode, data: bytes, ...pickOwnerTime(options) };
}

export function rm(path: string, options: { allowNotFound?: boolean; allowWildcard?: boolean } = {}): FileAction {
  return { action: 'rm', path, allowNotFound: options.allowNotFound ?? false, allowWildcard: options.allowWildcard ?? false };
}

export function copy(from: State, src: string, dest: string, options: CopyOptions = {}): FileAction {
  return { action: 'copy', from, src, dest, options: { ...options } };
}

/**
 * Applies `actions` in order to `base` (null for an empty root) as one file
 * op; the result is the state after the last action.
 */
export function file(base: State, actions: FileAction[], opOptions: OpOptions = {}): Output {
  if (actions.length === 0) throw new TypeError('a file op needs at least one action');
  const inputs: Output[] = [];
  const inputIndex = inputNumbering(inputs);
  // Resolve every op input first: chained actions are numbered after them.
  const primary = inputIndex(base);
  const secondaries = actions.map((a) => (a.action === 'copy' ? inputIndex(a.from) : -1));
  const caps = new Set<string>(['file.base']);
  const resolved: ResolvedFileAction[] = actions.map((action, i) => {
    if (action.action === 'rm' && action.allowWildcard) caps.add('file.rm.wildcard');
    return {
      input: i === 0 ? primary : inputs.length + (i - 1),
      secondaryInput: secondaries[i]!,
      output: i === actions.length - 1 ? 0 : -1,
      action,
    };
  });
  const vertex: FileVertex = { kind: 'file', inputs, actions: resolved, caps: withMetaCaps([...caps], opOptions), options: opOptions };
  return { vertex, index: 0 };
}

// ---------------------------------------------------------------- helpers

function pickOwnerTime(o: { owner?: ChownSpec; timestamp?: number }): { owner?: ChownSpec; timestamp?: number } {
  return { ...(o.owner ? { owner: o.owner } : {}), ...(o.timestamp !== undefined ? { timestamp: o.timestamp } : {}) };
}

function withMetaCaps(caps: string[], options: OpOptions): string[] {
  const all = new Set(caps);
  if (options.customName || (options.description && Object.keys(options.description).length > 0)) all.add('meta.description');
  if (options.ignoreCache) all.add('meta.ignorecache');
  if (options.platform) all.add('platform');
  return [...all].sort(compareBytes);
}

/** Byte-wise string order (Go's), not locale or UTF-16 order. */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Below the surrogates UTF-16 units sort as UTF-8 bytes do; from there
    // on (pairs, lone halves, U+E000 and up) compare the bytes themselves.
    if (x >= 0xd800 || y >= 0xd800) return Buffer.compare(Buffer.from(a), Buffer.from(b));
    return x - y;
  }
  return a.length - b.length;
}
