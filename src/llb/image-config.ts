// The image config model (OCI image config with Docker's extensions) that a
// Dockerfile build produces: the container config fields each instruction
// sets, and history entries written the way BuildKit writes them.
// Pure: values in, values out. It must never hold a secret value: secrets are
// mounted by id, and nothing here ever sees their content.

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';

export interface Healthcheck {
  Test: string[];
  /** Durations are in nanoseconds, as in Docker's JSON. */
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: Healthcheck;
  OnBuild?: string[] | null;
  Shell?: string[];
  ArgsEscaped?: boolean;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: HistoryEntry[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** The config of `FROM scratch`: root working directory and the default PATH. */
export function emptyImageConfig(platform: Platform): ImageConfig {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { WorkingDir: '/', Env: [`PATH=${DEFAULT_PATH}`] },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
}

/**
 * Reads the config JSON of a base image (as returned by the builder's
 * ResolveImageConfig). Unknown fields are dropped: only what a build inherits
 * is kept. Throws on JSON that is not an image config.
 */
export function parseImageConfig(bytes: Uint8Array | string): ImageConfig {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  const raw = JSON.parse(text) as Record<string, unknown>;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('image config is not a JSON object');
  const c = (raw.config ?? raw.Config ?? {}) as Record<string, unknown>;
  const config: ContainerConfig = {};
  const str = (k: string) => (typeof c[k] === 'string' && c[k] !== '' ? (c[k] as string) : undefined);
  const strs = (k: string) => (Array.isArray(c[k]) ? [...(c[k] as string[])] : undefined);
  const set = (k: string) =>
    c[k] && typeof c[k] === 'object' ? Object.fromEntries(Object.keys(c[k] as object).map((x) => [x, {}])) : undefined;
  if (str('User')) config.User = str('User');
  if (set('ExposedPorts')) config.ExposedPorts = set('ExposedPorts');
  if (strs('Env')) config.Env = strs('Env');
  if (strs('Entrypoint')) config.Entrypoint = strs('Entrypoint');
  if (strs('Cmd')) config.Cmd = strs('Cmd');
  if (set('Volumes')) config.Volumes = set('Volumes');
  if (str('WorkingDir')) config.WorkingDir = str('WorkingDir');
  if (c.Labels && typeof c.Labels === 'object') config.Labels = { ...(c.Labels as Record<string, string>) };
  if (str('StopSignal')) config.StopSignal = str('StopSignal');
  if (c.Healthcheck && typeof c.Healthcheck === 'object') config.Healthcheck = { ...(c.Healthcheck as Healthcheck) };
  if (strs('OnBuild')) config.OnBuild = strs('OnBuild');
  if (strs('Shell')) config.Shell = strs('Shell');
  if (c.ArgsEscaped === true) config.ArgsEscaped = true;
  const rootfs = raw.rootfs as { diff_ids?: string[] } | undefined;
  return {
    architecture: typeof raw.architecture === 'string' ? raw.architecture : 'amd64',
    os: typeof raw.os === 'string' ? raw.os : 'linux',
    ...(typeof raw.variant === 'string' ? { variant: raw.variant } : {}),
    config,
    rootfs: { type: 'layers', diff_ids: Array.isArray(rootfs?.diff_ids) ? [...rootfs.diff_ids] : [] },
    history: Array.isArray(raw.history) ? (raw.history as HistoryEntry[]).map((h) => ({ ...h })) : [],
  };
}

export function cloneImageConfig(img: ImageConfig): ImageConfig {
  return structuredClone(img);
}

/** The value of an environment variable in a KEY=VALUE list (Linux: case-sensitive). */
export function getEnv(env: readonly string[] | undefined, key: string): string | undefined {
  for (const kv of env ?? []) {
    const eq = kv.indexOf('=');
    const k = eq === -1 ? kv : kv.slice(0, eq);
    if (k === key) return eq === -1 ? '' : kv.slice(eq + 1);
  }
  return undefined;
}

/** Sets KEY=VALUE, replacing an earlier value in place (the order is kept, as Docker does). */
export function setEnv(env: readonly string[] | undefined, key: string, value: string): string[] {
  const out = [...(env ?? [])];
  const i = out.findIndex((kv) => kv === key || kv.startsWith(`${key}=`));
  if (i === -1) out.push(`${key}=${value}`);
  else out[i] = `${key}=${value}`;
  return out;
}

export function envToMap(env: readonly string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of env ?? []) {
    const eq = kv.indexOf('=');
    m.set(eq === -1 ? kv : kv.slice(0, eq), eq === -1 ? '' : kv.slice(eq + 1));
  }
  return m;
}

/** Appends a history entry the way BuildKit's Dockerfile frontend does. */
export function addHistory(img: ImageConfig, createdBy: string, withLayer: boolean, opts: { solved?: boolean; created?: string } = {}): void {
  img.history.push({
    ...(opts.created ? { created: opts.created } : {}),
    created_by: opts.solved ? `${createdBy} # buildkit` : createdBy,
    comment: HISTORY_COMMENT,
    ...(withLayer ? {} : { empty_layer: true }),
  });
}

export interface BuildArgValue {
  key: string;
  value: string | undefined;
}

/**
 * The history text of a RUN step: `RUN |N K=V ... <argv joined>`, where the N
 * build args in scope are listed first (values as the step saw them), so that
 * history tells two builds with different args apart.
 */
export function runHistory(argv: readonly string[], buildArgs: readonly BuildArgValue[], env: ReadonlyMap<string, string>): string {
  const args = buildArgs.map((a) => `${a.key}=${env.get(a.key) ?? a.value ?? ''}`);
  const prefix = args.length > 0 ? [`|${args.length}`, ...args] : [];
  return `RUN ${[...prefix, ...argv].join(' ')}`;
}

/** The legacy builder's form for steps that make no layer: `/bin/sh -c #(nop)  CMD ["sh"]`. */
export function nopHistory(instruction: string): string {
  return `/bin/sh -c #(nop)  ${instruction}`;
}

/** The command a RUN in shell form executes: the SHELL (default `/bin/sh -c`) then the script. */
export function withShell(img: ImageConfig, script: string): string[] {
  const shell = img.config.Shell && img.config.Shell.length > 0 ? img.config.Shell : ['/bin/sh', '-c'];
  return [...shell, script];
}

/** Parses a Go duration (`30s`, `1m30s`, `500ms`, `1h`) into nanoseconds; undefined when invalid. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * unit[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched !== text.length || text.length === 0) return undefined;
  return Math.round(total);
}

/** The config JSON sent with the build result: canonical key order, no undefined fields. */
export function serializeImageConfig(img: ImageConfig): string {
  return JSON.stringify(img);
}
