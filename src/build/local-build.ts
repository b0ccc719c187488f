// A local build, as `hangar build` runs it: read the context's Dockerfile and
// .dockerignore, check the given secrets against what the Dockerfile mounts,
// load secret values into memory, compile the Dockerfile with Hangar's own
// frontend, and solve it on the builder, exporting to the engine's image store.
//
// Must never: put a secret value in an error, a warning, a progress event, an
// LLB op or the image; values live only in the SecretStore (wiped when the
// build settles) and, with --secret-cache=digest, as keyed digests.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import {
  GrpcError,
  GrpcStatus,
  SecretRedactor,
  SecretStore,
  connectBuilder,
  engineImageId,
  isLocalBuilder,
  parseBuilderUrl,
  readDockerignore,
  resolveBuilderUrl,
  type BuilderTls,
  type BuildKitClient,
  type Exporter,
  type ImageConfigFile,
  type ProgressEvent,
} from '../buildkit/index.js';
import { parseDockerfile, type DockerfileInstructions } from '../dockerfile/index.js';
import { cliConfigDir } from '../config/defaults.js';
import { readStream } from '../read-stream.js';
import { UserError } from '../errors.js';
import { compileDockerfile, neededStageIndexes, type CompiledBuild, type CompileOptions } from '../llb/compile.js';
import { marshalDefinition } from '../llb/definition.js';
import { evaluationOrder } from '../llb/evaluation-order.js';
import { normalizeImageRef, type Platform } from '../llb/graph.js';
import { loadSecretValues, parseSecretSpec, splitFields } from './secret-spec.js';
import { evaluateInOrder } from './evaluate-in-order.js';
import { cacheImageConfig, imageConfigCacheDir, readCachedImageConfig } from './image-config-cache.js';

export interface LocalBuildRequest {
  /** The build context directory (PATH). */
  context: string;
  /** `-f`: the Dockerfile; defaults to `<context>/Dockerfile`. */
  dockerfile?: string;
  tags: string[];
  /** `--secret` specs, docker syntax. */
  secrets: string[];
  buildArgs: Record<string, string>;
  target?: string;
  noCache?: boolean;
  /** `--secret-cache=digest` puts a keyed digest of mounted secrets into each step's cache key. */
  secretCache?: 'off' | 'digest';
  builder?: string;
  /** `--builder-tls-ca/-cert/-key` for a buildkitd over TCP. */
  builderTls?: BuilderTls;
  /**
   * `--pull`: let the builder fetch base images it does not have. Off by
   * default: on a Docker Engine a base image missing from its store is an
   * error before anything is resolved, so a build never reaches a registry
   * unless asked to.
   */
  pull?: boolean;
  /** `--label K=V`: set on the image. */
  labels?: Record<string, string>;
  /** `--network`: of RUN steps that do not set their own (`default` is the engine's: host here). */
  network?: 'default' | 'host' | 'none';
  /** `--output`: where the result goes instead of the engine's image store. */
  output?: BuildOutput;
  /** `--iidfile`: written with the image id once the build is exported. */
  iidfile?: string;
  /** Where `--secret id=X,src=/dev/stdin` reads from. */
  stdin?: NodeJS.ReadableStream;
  /**
   * How many of the stages the result reads the builder evaluates at a time,
   * in the order the result reads them (src/llb/evaluation-order.ts); 0: all
   * at once, as BuildKit schedules them. Defaults to four times this
   * machine's cores for a builder on this machine (enough to keep its cores
   * busy while some stages wait on the network), and 0 for another (whose
   * cores and round trips are unknown).
   */
  evaluationWindow?: number;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** `-o ...`: the filesystem as a directory or a tarball, or the image as an OCI or Docker layout tarball. */
export type BuildOutput = { type: 'tar' | 'local'; dest: string } | { type: 'oci' | 'docker'; dest: string; name?: string };

export interface LocalBuildEvents {
  warn(message: string): void;
  /** Milestones, for a timing trace (`HANGAR_DEBUG=1`); never carries a secret value. */
  trace?(event: string): void;
  progress?(event: ProgressEvent): void;
  signal?: AbortSignal;
}

export interface LocalBuildResult {
  imageId?: string;
  tags: string[];
  stages: string[];
  /** Ids of the secrets the builder fetched during the build. */
  secretsFetched: string[];
  /** Bytes of context file contents sent to the builder (0 when it had them all). */
  bytesSynced: number;
}

/** The `# syntax=` images Hangar's own frontend stands in for, with no pull. */
const BUILTIN_SYNTAX = /^(?:docker\.io\/)?docker\/dockerfile(?::1(?:\.\d+){0,2}(?:-labs)?)?(?:@sha256:[0-9a-f]{64})?$/;

export function checkSyntaxDirective(df: DockerfileInstructions): void {
  const syntax = df.directives.syntax?.trim();
  if (!syntax) return;
  if (!BUILTIN_SYNTAX.test(syntax)) {
    throw new UserError(
      `${df.file} asks for the frontend image "${syntax}" (# syntax=), which Hangar does not run; remove the line or use # syntax=docker/dockerfile:1.`,
    );
  }
}

export interface SecretCheck {
  warnings: string[];
}

/**
 * Checks the given secret ids against the secret mounts of the stages the
 * build needs: a required one not given is an error naming its id and line;
 * one given but never mounted, or optional and not given, is a warning.
 */
export function checkSecrets(df: DockerfileInstructions, given: readonly string[], target: string | undefined, buildArgs: Record<string, string>): SecretCheck {
  const stages = neededStageIndexes(df, { target, buildArgs });
  const mounted = new Set<string>();
  const warnings: string[] = [];
  const givenSet = new Set(given);
  const warnedOptional = new Set<string>();
  for (const s of df.stages) {
    if (!stages.has(s.index)) continue;
    for (const c of s.commands) {
      if (c.kind !== 'run') continue;
      for (const m of c.mounts) {
        if (m.type !== 'secret') continue;
        if (m.unexpanded) {
          mounted.add(m.id);
          continue;
        }
        mounted.add(m.id);
        if (givenSet.has(m.id)) continue;
        if (m.required) {
          throw new UserError(
            `${df.file}:${c.startLine} needs secret "${m.id}" (required=true), which was not given; pass it with --secret id=${m.id},src=FILE or --secret id=${m.id},env=VAR.`,
          );
        }
        if (!warnedOptional.has(m.id)) {
          warnedOptional.add(m.id);
          warnings.push(`secret "${m.id}" used at ${df.file}:${c.startLine} was not given; the step runs without it.`);
        }
      }
    }
  }
  for (const id of given) {
    if (!mounted.has(id)) warnings.push(`secret "${id}" was given but no RUN step of this build mounts it.`);
  }
  return { warnings };
}

function statOrNull(p: string) {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/** Where the key for --secret-cache=digest lives: created once, mode 0600, never printed. */
export function secretCacheKey(env: NodeJS.ProcessEnv): Buffer {
  const path = join(cliConfigDir(env), 'secret-cache.key');
  try {
    const existing = readFileSync(path);
    if (existing.length >= 32) return existing;
  } catch {
    // created below
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(path, key, { mode: 0o600 });
  return key;
}

/** A keyed digest of one secret value: the same value gives the same digest on this machine only. */
export function secretDigest(key: Buffer, id: string, value: Buffer): string {
  return createHmac('sha256', key).update(id).update('\0').update(value).digest('hex');
}

/** Reads, checks and runs one local build. */
export async function runLocalBuild(req: LocalBuildRequest, events: LocalBuildEvents): Promise<LocalBuildResult> {
  // PATH `-`: the Dockerfile comes from stdin and there is no context, as with `docker build - < Dockerfile`.
  const noContext = req.context === '-';
  if (noContext && req.dockerfile !== undefined) {
    throw new UserError('PATH - reads the Dockerfile from stdin and builds without a context; drop -f, or give the context directory as PATH.');
  }
  let contextDir = '';
  if (!noContext) {
    contextDir = resolve(req.cwd, req.context);
    const ctxStat = statOrNull(contextDir);
    if (!ctxStat) throw new UserError(`build context ${req.context} does not exist; give the directory to build as PATH.`);
    if (!ctxStat.isDirectory()) throw new UserError(`build context ${req.context} is not a directory; give the directory to build as PATH.`);
  }
  let text: string;
  let dockerfileName: string;
  if (req.dockerfile === '-' || noContext) {
    // `-f -` or PATH `-`: the Dockerfile comes from stdin, as with docker build.
    const flag = noContext ? 'PATH -' : '-f -';
    if (!req.stdin) throw new UserError(`${flag} reads the Dockerfile from stdin, but no stdin is available; pass a file to -f.`);
    if (req.secrets.some((s) => /(?:^|,)(?:src|source)=\/dev\/stdin(?:,|$)/.test(s))) {
      throw new UserError(`${flag} and a secret with src=/dev/stdin both read stdin; put the Dockerfile or the secret in a file.`);
    }
    const bytes = await readStream(req.stdin);
    if (noContext && looksLikeArchive(bytes)) {
      throw new UserError('a context archive on stdin is not supported; extract it and pass the directory as PATH.');
    }
    text = bytes.toString('utf8');
    dockerfileName = 'Dockerfile';
  } else {
    const dockerfilePath = req.dockerfile ? resolve(req.cwd, req.dockerfile) : join(contextDir, 'Dockerfile');
    const dfStat = statOrNull(dockerfilePath);
    if (!dfStat || !dfStat.isFile()) {
      const shown = req.dockerfile ?? join(req.context, 'Dockerfile');
      throw new UserError(`Dockerfile ${shown} does not exist; create it or point -f at your Dockerfile.`);
    }
    text = readFileSync(dockerfilePath, 'utf8');
    dockerfileName = basename(dockerfilePath);
  }
  const trace = events.trace ?? ((): void => undefined);
  const df = parseDockerfile(text, { file: dockerfileName });
  checkSyntaxDirective(df);
  for (const t of req.tags) validateTag(t);
  const output: BuildOutput | undefined = req.output
    ? {
        ...req.output,
        dest:
          req.output.type === 'local'
            ? checkOutputDir(resolve(req.cwd, req.output.dest), `--output ${req.output.dest}`)
            : checkOutputPath(resolve(req.cwd, req.output.dest), `--output dest=${req.output.dest}`),
      }
    : undefined;
  if ((output?.type === 'tar' || output?.type === 'local') && req.tags.length > 0) {
    events.warn(`-t names an image, but --output type=${output.type} writes only the filesystem; the names are not used.`);
  }
  const iidfile = req.iidfile ? checkOutputPath(resolve(req.cwd, req.iidfile), `--iidfile ${req.iidfile}`) : undefined;

  // Specs are parsed (and rejected) before anything is read or sent.
  const specs = req.secrets.map((s) => parseSecretSpec(s));
  const check = checkSecrets(
    df,
    specs.map((s) => s.id),
    req.target,
    req.buildArgs,
  );
  const values = await loadSecretValues(specs, { env: req.env, cwd: req.cwd, ...(req.stdin ? { stdin: req.stdin } : {}) });
  for (const w of check.warnings) events.warn(w);

  const store = new SecretStore();
  for (const [id, v] of values) store.set(id, v);
  let secretCacheKeys: Map<string, string> | undefined;
  if (req.secretCache === 'digest') {
    const key = secretCacheKey(req.env);
    secretCacheKeys = new Map([...values].map(([id, v]) => [id, secretDigest(key, id, v)]));
  }
  const redactor = new SecretRedactor(values.values());
  for (const v of values.values()) v.fill(0);
  values.clear();

  trace('Dockerfile read, secrets loaded');
  const excludePatterns = noContext ? [] : await readDockerignore(contextDir);
  let client: BuildKitClient | undefined;
  let emptyContext: string | undefined;
  try {
    if (noContext) contextDir = emptyContext = mkdtempSync(join(tmpdir(), 'hangar-no-context-'));
    const builderAddress = parseBuilderUrl(resolveBuilderUrl(req.builder, req.env));
    const tls = req.builderTls ?? {};
    if ((tls.ca || tls.cert || tls.key) && !(builderAddress.kind === 'buildkitd' && builderAddress.host)) {
      throw new UserError(
        `--builder-tls-ca/-cert/-key apply only to a buildkit+tcp:// builder, not ${builderAddress.url}; drop them or point --builder at buildkit+tcp://HOST:PORT.`,
      );
    }
    if (output && (output.type === 'oci' || output.type === 'docker') && builderAddress.kind === 'engine') {
      throw new UserError(
        `--output type=${output.type} needs a standalone buildkitd (the Docker Engine's builder writes only type=tar and type=local); point --builder at buildkit+unix:// or buildkit+tcp://, or drop --output to store the image in the engine.`,
      );
    }
    // The base-image lookups, the connection, the worker list and the session
    // run side by side: each is a round trip to the engine, and a no-op build
    // is little else.
    const imageIds = new Map<string, Promise<string | null>>();
    const imageIdOf = (ref: string): Promise<string | null> => {
      let p = imageIds.get(ref);
      if (!p) {
        p = engineImageId(builderAddress, ref);
        p.catch(() => undefined);
        imageIds.set(ref, p);
      }
      return p;
    };
    const missingImage = (ref: string): UserError =>
      new UserError(`base image "${ref}" is not in the engine's image store; build or load it first (or pass --pull to let the engine fetch it), or fix the FROM line.`);
    const checkImages = !req.pull && builderAddress.kind === 'engine';
    if (checkImages) for (const ref of staticBaseImages(df, req.target, req.buildArgs)) imageIdOf(ref);
    const configCache = imageConfigCacheDir(req.env);
    const sessionId = randomBytes(16).toString('hex');
    const compile = (platform: Platform, resolveImage: CompileOptions['resolveImage']): Promise<CompiledBuild> =>
      compileDockerfile(df, {
        buildArgs: req.buildArgs,
        target: req.target,
        platform,
        sessionId,
        excludePatterns,
        defaultNetwork: req.network === 'none' ? 'none' : 'host',
        ...(req.labels ? { labels: req.labels } : {}),
        noCache: req.noCache,
        secretCacheKeys,
        resolveImage,
      });

    // On an engine, when every base image's config is in the local cache (by
    // the id the engine reports), the Dockerfile is compiled while the
    // connection is made, for the platform of this machine, and the frontend
    // hands the finished definition over as soon as it starts, with no round
    // trip per base image. Otherwise (or when the builder's platform turns
    // out to differ) the frontend compiles, asking the builder for configs.
    const NOT_CACHED = Symbol('not cached');
    const hostPlatform = nodePlatform();
    const precompiled = checkImages
      ? (async () => {
          try {
            const build = await compile(hostPlatform, async (ref) => {
              const id = await imageIdOf(normalizeImageRef(ref));
              if (!id) throw missingImage(ref);
              const config = readCachedImageConfig(configCache, id);
              if (!config) throw NOT_CACHED;
              return { config };
            });
            return { build, def: marshalDefinition(build.state, { platform: hostPlatform }) };
          } catch (err) {
            if (err === NOT_CACHED) return undefined;
            throw err;
          }
        })()
      : undefined;
    precompiled?.catch(() => undefined);

    const evaluationWindow = Math.max(0, Math.floor(req.evaluationWindow ?? (isLocalBuilder(builderAddress) ? 4 * availableParallelism() : 0)));
    client = await connectBuilder(req.builder, req.env, tls);
    trace(`connected to ${builderAddress.url}`);
    const platformReady = client.listWorkers().then((workers): Platform => workers[0]?.platforms[0] ?? { os: 'linux', architecture: 'amd64' });
    platformReady.catch(() => undefined);
    let compiled: CompiledBuild | undefined;
    const result = await client.build({
      frontend: async (gw) => {
        trace('frontend started');
        // A Dockerfile error found ahead is the one compiling here would report.
        const early = precompiled ? await precompiled : undefined;
        // A gateway solve is lazy (nothing runs until the result is returned),
        // so the definition compiled ahead for this machine's platform is
        // handed over while the worker list is still on its way, and used only
        // if the builder's platform is that one.
        const earlyRef = early && early.build.state !== null ? gw.solve(early.def) : undefined;
        earlyRef?.catch(() => undefined);
        const platform = await platformReady;
        const ahead = early && samePlatform(platform, hostPlatform) ? early : undefined;
        compiled =
          ahead?.build ??
          (await compile(platform, async (ref) => {
            const normalized = normalizeImageRef(ref);
            if (checkImages && !(await imageIdOf(normalized))) throw missingImage(ref);
            try {
              const r = await gw.resolveImageConfig(normalized, { platform });
              if (checkImages) cacheImageConfig(configCache, r.raw);
              return { config: r.config, digest: r.digest };
            } catch (err) {
              if (err instanceof UserError || !(err instanceof GrpcError)) throw err;
              // Only the registry lookup failing means "no such image"; a cancelled or broken call is reported as itself.
              if (err.code === GrpcStatus.CANCELLED || err.code === GrpcStatus.UNAVAILABLE) throw err;
              throw new UserError(`base image "${ref}" is not in the engine's image store and could not be pulled; build or load it first, or fix the FROM line.`, {
                cause: err,
              });
            }
          }));
        const def = ahead?.def ?? marshalDefinition(compiled.state, { platform });
        trace(`compiled ${compiled.stages.length} stage(s) to ${def.digests.length} ops${ahead ? ' (ahead, base image configs from the local cache)' : ''}`);
        const ref = compiled.state === null ? null : await (ahead && earlyRef ? earlyRef : gw.solve(def));
        trace('definition handed to the builder');
        const steps = evaluationWindow > 0 ? evaluationOrder(compiled.state, { chunk: evaluationWindow }) : [];
        if (steps.length > 0) {
          const run = await evaluateInOrder(gw, steps, evaluationWindow, { platform });
          trace(`evaluated ${run.evaluated} of ${steps.length} parts in order, ${evaluationWindow} inputs at a time${run.stoppedEarly ? ' (one failed; the build reports it)' : ''}`);
        }
        return { ref, imageConfig: compiled.image as unknown as ImageConfigFile };
      },
      sessionId,
      exporter: output ? outputExporter(output, req.tags) : { type: 'moby', name: req.tags.map((t) => normalizeImageRef(t)).join(',') },
      secrets: store,
      localDirs: { context: { dir: contextDir, excludePatterns } },
      // Entitlements are asked for before the frontend runs, so they come from the parsed Dockerfile.
      entitlements: df.stages.some((st) => st.commands.some((c) => c.kind === 'run' && c.security === 'insecure'))
        ? ['network.host', 'security.insecure']
        : ['network.host'],
      ...(events.progress ? { onProgress: events.progress } : {}),
      ...(events.trace ? { onTrace: events.trace } : {}),
      onRetry: (why) => events.warn(why),
      ...(events.signal ? { signal: events.signal } : {}),
    });
    if (iidfile && result.imageDigest) writeFileSync(iidfile, result.imageDigest);
    return {
      ...(result.imageDigest ? { imageId: result.imageDigest } : {}),
      tags: req.tags,
      stages: compiled?.stages ?? [],
      secretsFetched: [...new Set(result.secretFetches.filter((f) => f.found).map((f) => f.id))],
      bytesSynced: result.bytesSynced,
    };
  } catch (err) {
    // Builder messages can quote a failing command's output; scrub known values.
    if (err instanceof Error) err.message = redactor.redactText(err.message);
    throw err;
  } finally {
    store.wipe();
    client?.close();
    if (emptyContext) rmSync(emptyContext, { recursive: true, force: true });
  }
}

/** This machine's platform as BuildKit names it (linux/amd64, linux/arm64, ...). */
export function nodePlatform(arch: string = process.arch): Platform {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: 'linux', architecture: names[arch] ?? arch };
}

function samePlatform(a: Platform, b: Platform): boolean {
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');
}

/**
 * The base images the needed stages name literally (no ARG in them, not an
 * earlier stage, not scratch), normalized: known before anything is compiled,
 * so they can be looked up while the connection is set up.
 */
export function staticBaseImages(df: DockerfileInstructions, target: string | undefined, buildArgs: Record<string, string>): string[] {
  let needed: Set<number>;
  try {
    needed = neededStageIndexes(df, { target, buildArgs });
  } catch {
    return [];
  }
  const refs = new Set<string>();
  const stageNames = new Set<string>();
  for (const st of df.stages) {
    const base = st.baseName;
    if (needed.has(st.index) && !base.includes('$') && base.toLowerCase() !== 'scratch' && !stageNames.has(base.toLowerCase())) {
      try {
        refs.add(normalizeImageRef(base));
      } catch {
        // Not a valid reference: the compile reports it.
      }
    }
    if (st.name) stageNames.add(st.name);
  }
  return [...refs];
}

/** gzip, bzip2, xz or zstd magic, or a tar header: an archive, not a Dockerfile. */
function looksLikeArchive(b: Buffer): boolean {
  const starts = (...m: number[]): boolean => m.every((v, i) => b[i] === v);
  return starts(0x1f, 0x8b) || starts(0x42, 0x5a, 0x68) || starts(0xfd, 0x37, 0x7a, 0x58, 0x5a) || starts(0x28, 0xb5, 0x2f, 0xfd) || b.subarray(257, 262).toString('latin1') === 'ustar';
}

/**
 * `-o`/`--output`, docker's syntax: a bare DIR or `type=local,dest=DIR` (the
 * files), `type=tar|oci|docker,dest=FILE[,name=NAME]`. `-` (stdout) and
 * type=image|registry are refused.
 */
export function parseOutputSpec(spec: string): BuildOutput {
  const fix =
    'write --output DIR or type=local,dest=DIR (the files), type=tar,dest=FILE (the files as a tarball) or type=oci|docker,dest=FILE (the image); without --output the image goes to the engine';
  if (spec === '-') throw new UserError(`--output -: writing to stdout is not supported; give a directory or dest=FILE.`);
  // A bare path is a directory to write the files into, as with docker build -o.
  if (!spec.includes('=')) return { type: 'local', dest: spec };
  const fields = new Map<string, string>();
  for (const part of splitFields(spec, '--output')) {
    const eq = part.indexOf('=');
    const key = eq === -1 ? part : part.slice(0, eq);
    if (eq === -1 || !['type', 'dest', 'name'].includes(key) || fields.has(key)) {
      throw new UserError(`--output ${spec}: "${part}" is not understood; ${fix}.`);
    }
    fields.set(key, part.slice(eq + 1));
  }
  const type = fields.get('type');
  const dest = fields.get('dest');
  if (type !== 'tar' && type !== 'local' && type !== 'oci' && type !== 'docker') {
    throw new UserError(`--output ${spec}: type=${type ?? ''} is not supported; ${fix}.`);
  }
  const what = type === 'local' ? 'DIR' : 'FILE';
  if (!dest) throw new UserError(`--output ${spec} needs dest=${what}; ${fix}.`);
  if (dest === '-') throw new UserError(`--output ${spec}: writing to stdout is not supported; give dest=${what}.`);
  const name = fields.get('name');
  if (type === 'tar' || type === 'local') {
    if (name !== undefined) throw new UserError(`--output ${spec}: name= applies to type=oci and type=docker only; drop it.`);
    return { type, dest };
  }
  return { type, dest, ...(name ? { name } : {}) };
}

function outputExporter(output: BuildOutput, tags: string[]): Exporter {
  switch (output.type) {
    case 'local':
      return { type: 'local', dir: output.dest };
    case 'tar':
      return { type: 'tar', dest: output.dest };
    default:
      return { type: output.type, dest: output.dest, name: (output.name ? [output.name] : tags).map((n) => normalizeImageRef(n)).join(',') };
  }
}

/** A directory the build will write files into: created if missing; it must not be something else. */
function checkOutputDir(path: string, what: string): string {
  const st = statOrNull(path);
  if (st && !st.isDirectory()) throw new UserError(`${what} is not a directory; give a directory to write the files into, or type=tar,dest=FILE for a tarball.`);
  return path;
}

/** A file the build will write: its directory must exist and it must not be a directory. */
function checkOutputPath(path: string, what: string): string {
  const parent = statOrNull(dirname(path));
  if (!parent?.isDirectory()) throw new UserError(`${what}: the directory ${dirname(path)} does not exist; create it or write somewhere else.`);
  if (statOrNull(path)?.isDirectory()) throw new UserError(`${what} is a directory; give the path of a file to write.`);
  return path;
}

const TAG_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?$/;

export function validateTag(tag: string): void {
  if (!TAG_RE.test(tag)) {
    throw new UserError(`-t ${tag} is not a valid image name; use lower-case NAME[:TAG], e.g. myapp:1.0.`);
  }
}
