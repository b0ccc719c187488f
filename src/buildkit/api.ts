// The shapes of Hangar's BuildKit client API: what `hangar build` and the
// build orchestration code against. Implementations live beside this file.
//
// Must never: carry a secret value in any of these types except SecretStore,
// which keeps values only in memory and wipes them when the build ends.
import type { MarshaledDefinition } from '../llb/definition.js';
import type { Platform } from '../llb/graph.js';
import type { SecretStore } from './secrets.js';

/** A BuildKit worker as ListWorkers reports it. */
export interface Worker {
  id: string;
  labels: Record<string, string>;
  platforms: Platform[];
}

/** One cache record from DiskUsage or Prune. */
export interface CacheRecord {
  id: string;
  size: number;
  inUse: boolean;
  mutable: boolean;
  shared: boolean;
  type: string;
  description: string;
  usageCount: number;
  createdAt?: Date;
  lastUsedAt?: Date;
}

export interface PruneOptions {
  /** Also remove records still referenced by images (BuildKit's `all`). */
  all?: boolean;
  /** Keep records used within this many seconds. */
  keepDurationSeconds?: number;
  /** Keep this many bytes of cache. */
  keepBytes?: number;
  filters?: string[];
}

/**
 * Where the result goes. `moby` is the Docker Engine's image store; `image`,
 * `oci` and `docker` need a standalone buildkitd; `tar` (the result's files
 * as a tarball) and `local` (the result's files, into a directory) work on
 * both. `dest` is written by this process as the builder streams it over the
 * session.
 */
export type Exporter =
  | { type: 'moby'; name: string }
  | { type: 'image'; name: string; push?: boolean }
  | { type: 'oci' | 'docker'; name?: string; dest: string }
  | { type: 'tar'; dest: string }
  | { type: 'local'; dir: string };

export type Entitlement = 'network.host' | 'security.insecure';

/** An image's config as the registry stores it (`config` holds Env, Cmd, ...). */
export interface ImageConfigFile {
  architecture?: string;
  os?: string;
  config?: Record<string, unknown>;
  rootfs?: { type: string; diff_ids: string[] };
  history?: Record<string, unknown>[];
  [key: string]: unknown;
}

/** A solved result held by BuildKit for the duration of the build. */
export interface GatewayRef {
  readonly id: string;
}

/** What a client-side frontend can ask BuildKit while the build runs. */
export interface Gateway {
  /** The session id to put in `local()` sources (`local.session`). */
  readonly sessionId: string;
  /** Config and digest of a base image (the engine resolves from its own store first); `raw` is the config file's bytes. */
  resolveImageConfig(
    ref: string,
    options?: { platform?: Platform; resolveMode?: 'default' | 'pull' | 'local' },
  ): Promise<{ digest: string; config: ImageConfigFile; raw: Uint8Array }>;
  /** Solves a definition and returns a reference to the result (not exported yet). */
  solve(definition: MarshaledDefinition, options?: { evaluate?: boolean }): Promise<GatewayRef>;
  /** Reads a file (or a byte range of it) from a solved result. */
  readFile(ref: GatewayRef, path: string, range?: { offset: number; length: number }): Promise<Buffer>;
}

/** What a frontend returns: the result to export and the image config it should carry. */
export interface FrontendResult {
  ref: GatewayRef | null;
  /** Written as the image's config (`containerimage.config`). */
  imageConfig?: ImageConfigFile;
}

export type Frontend = (gateway: Gateway) => Promise<FrontendResult>;

/** Patterns for a local directory, as `.dockerignore` and the LLB source give them. */
export interface LocalDir {
  dir: string;
  /** `.dockerignore` patterns (Docker's rules: `!` exceptions, `**`). */
  excludePatterns?: string[];
  /** Also read `<dir>/.dockerignore` when the build starts and apply its patterns first. */
  dockerignore?: boolean;
}

export interface BuildOptions {
  /** Drives the build through the gateway (ResolveImageConfig, Solve, ReadFile, Return). */
  frontend?: Frontend;
  /** Or: solve this definition directly (the image gets a default config). */
  definition?: MarshaledDefinition;
  exporter?: Exporter;
  /** Served over the session's Secrets service; wiped when the build ends. */
  secrets?: SecretStore;
  /** Directories served over FileSync, by the name used in `local://name`. */
  localDirs?: Record<string, string | LocalDir>;
  /** Called for every status update, with secret values already redacted. */
  onProgress?: (event: ProgressEvent) => void;
  /** Milestones of the build on the client (session attached, each directory synced), for timing traces. */
  onTrace?: (event: string) => void;
  /** Called, with a sentence saying why, when the build is solved again after a fault of the builder's own. */
  onRetry?: (reason: string) => void;
  /** Aborting cancels the solve on the builder. */
  signal?: AbortSignal;
  entitlements?: Entitlement[];
  /** Reuse a session id (lets BuildKit reuse what it synced last time); random otherwise. */
  sessionId?: string;
  /** Key that identifies the local directories across builds (defaults to a hash of the paths). */
  sharedKey?: string;
}

export interface BuildResult {
  /** The solve's reference (also the build id). */
  ref: string;
  exporterResponse: Record<string, string>;
  /** The image id (its config's digest) when the exporter reports one, else the manifest digest. */
  imageDigest?: string;
  /** Every GetSecret during the build: ids and value digests, never values. */
  secretFetches: SecretFetch[];
  /** Bytes of file contents sent over FileSync (0 for a fully cached re-sync). */
  bytesSynced: number;
}

export interface SecretFetch {
  id: string;
  /** `sha256:<hex>` of the value; absent when the id was unknown. */
  digest?: string;
  time: Date;
  found: boolean;
}

export interface ProgressVertex {
  digest: string;
  name: string;
  inputs: string[];
  cached: boolean;
  started?: Date;
  completed?: Date;
  error?: string;
}

export interface ProgressStatus {
  /** What the status is about, as the engine words it ("transferring context:", "exporting layers"); what progress shows. */
  id: string;
  vertex: string;
  /** The action ("transferring", often empty). */
  name: string;
  current: number;
  total: number;
  /** When the engine sent this update. */
  timestamp?: Date;
  started?: Date;
  completed?: Date;
}

export interface ProgressLog {
  vertex: string;
  /** 1 stdout, 2 stderr. */
  stream: number;
  data: Buffer;
  time: Date;
}

/** One Status message with secrets redacted from logs and errors. */
export interface ProgressEvent {
  vertexes: ProgressVertex[];
  statuses: ProgressStatus[];
  logs: ProgressLog[];
}

export interface BuilderTls {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface BuildKitClient {
  /** The builder URL this client talks to. */
  readonly url: string;
  listWorkers(): Promise<Worker[]>;
  diskUsage(): Promise<CacheRecord[]>;
  prune(options?: PruneOptions): Promise<CacheRecord[]>;
  build(options: BuildOptions): Promise<BuildResult>;
  close(): void;
}
