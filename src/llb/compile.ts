// The Dockerfile → LLB compiler: typed instructions (src/dockerfile) in, an
// LLB graph (./graph.ts) and the image config (./image-config.ts) out, with
// BuildKit's Dockerfile semantics: stages and `--target` (only the stages the
// target needs are compiled), ARG/ENV scoping, RUN with SHELL, WORKDIR, USER
// and every mount type, COPY/ADD rules, heredocs, ONBUILD triggers, metadata.
// Pure: the one outside call is `resolveImage`, which the caller provides.
//
// Must never: put a secret value into an op, an op name, the image config or
// its history. Secrets are referred to by id only; this module never sees a value
// (`secretCacheKeys` holds keyed digests, never values).
import { posix } from 'node:path';
import {
  StageScope,
  expandStageBase,
  parse,
  parseHeredocWord,
  parseInstruction,
  resolveGlobalArgs,
  chompHeredocContent,
  type AddCommand,
  type Command,
  type CopyCommand,
  type DockerfileInstructions,
  type RunCommand,
  type RunMount,
  type Stage,
} from '../dockerfile/index.js';
import { UserError } from '../errors.js';
import {
  copy,
  exec,
  file,
  image as imageSource,
  http as httpSource,
  local,
  mkdir,
  mkfile,
  type ChownSpec,
  type ExecMount,
  type FileAction,
  type NetworkMode,
  type OpOptions,
  type Output,
  type Platform,
  type State,
} from './graph.js';
import {
  DEFAULT_PATH,
  addHistory,
  cloneImageConfig,
  emptyImageConfig,
  parseImageConfig,
  runHistory,
  withShell,
  type ImageConfig,
} from './image-config.js';

export const CONTEXT_NAME = 'context';
/** Where secrets asked for as env vars are mounted: /dev is a tmpfs, so nothing lands in a layer. */
export const SECRET_ENV_DIR = '/dev/.hangar-secret-env';
/** Where a RUN heredoc with a shebang is mounted as an executable file (as BuildKit does). */
export const HEREDOC_DIR = '/dev/pipes';
/** The env var that carries a step's secret digest when `--secret-cache=digest` is on. */
export const SECRET_CACHE_ENV = 'HANGAR_SECRET_CACHE_KEY';

export interface ResolvedImage {
  /** The image's config JSON (as the builder's ResolveImageConfig returns it). */
  config: unknown;
  digest?: string;
}

export interface CompileOptions {
  buildArgs?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** Stage name to build; the last stage when absent. */
  target?: string;
  platform: Platform;
  /** The build session that serves the context (`local.session`). */
  sessionId: string;
  /** `.dockerignore` patterns for the context. */
  excludePatterns?: string[];
  /** Network of RUN steps without `--network`: the engine's default when it has no bridge is `host`. */
  defaultNetwork?: NetworkMode;
  /** Re-run every step (`--no-cache`). */
  noCache?: boolean;
  /** `--secret-cache=digest`: secret id → keyed digest of its value, mixed into the cache key of each step that mounts it. */
  secretCacheKeys?: ReadonlyMap<string, string>;
  /** Whether the session forwards an SSH agent. */
  sshAgent?: boolean;
  /** `--label K=V`: labels set on the final image, over the Dockerfile's. */
  labels?: Readonly<Record<string, string>>;
  /** Config of a base image by reference; throw UserError when it does not exist. */
  resolveImage(ref: string, platform: Platform): Promise<ResolvedImage>;
}

export interface CompiledSecretMount {
  id: string;
  stage: string;
  line: number;
  required: boolean;
  target: string | null;
  env: string | null;
}

export interface CompiledBuild {
  /** The result's filesystem (null: an empty image). */
  state: State;
  /** The image config to export with the result. */
  image: ImageConfig;
  /** Stages compiled, in order (only those the target needs). */
  stages: string[];
  /** Secret mounts of the compiled steps. */
  secrets: CompiledSecretMount[];
  entitlements: ('network.host' | 'security.insecure')[];
  usesContext: boolean;
}

interface StageResult {
  stage: Stage;
  label: string;
  state: State;
  image: ImageConfig;
}

function toMap(v: CompileOptions['buildArgs']): Map<string, string> {
  if (!v) return new Map();
  if (v instanceof Map) return new Map(v);
  return new Map(Object.entries(v as Record<string, string>));
}

function fail(file: string, line: number, message: string): never {
  throw new UserError(`${file}:${line}: ${message}`);
}

/** Compiles a typed Dockerfile into an LLB state and an image config. */
export async function compileDockerfile(df: DockerfileInstructions, opts: CompileOptions): Promise<CompiledBuild> {
  return new Compiler(df, opts).compile();
}

/** Indexes of the stages a build of `target` (default: the last stage) needs. */
export function neededStageIndexes(
  df: DockerfileInstructions,
  opts: { target?: string; buildArgs?: CompileOptions['buildArgs']; platform?: Platform },
): Set<number> {
  const c = new Compiler(df, {
    platform: opts.platform ?? { os: 'linux', architecture: 'amd64' },
    sessionId: '',
    target: opts.target,
    buildArgs: opts.buildArgs,
    resolveImage: () => Promise.reject(new Error('not resolving images while planning')),
  });
  return c.needed();
}

class Compiler {
  private readonly buildArgs: Map<string, string>;
  private readonly globalArgs: Map<string, string>;
  private readonly results = new Map<number, StageResult>();
  private readonly imageCache = new Map<string, Promise<ImageConfig>>();
  private contextState: Output | undefined;
  private readonly secrets: CompiledSecretMount[] = [];
  private readonly entitlements = new Set<'network.host' | 'security.insecure'>();
  private readonly file: string;

  constructor(
    private readonly df: DockerfileInstructions,
    private readonly opts: CompileOptions,
  ) {
    this.file = df.file || 'Dockerfile';
    this.buildArgs = toMap(opts.buildArgs);
    const predefined = new Map<string, string>([
      ['TARGETPLATFORM', platformString(opts.platform)],
      ['TARGETOS', opts.platform.os],
      ['TARGETARCH', opts.platform.architecture],
      ['TARGETVARIANT', opts.platform.variant ?? ''],
      ['BUILDPLATFORM', platformString(opts.platform)],
      ['BUILDOS', opts.platform.os],
      ['BUILDARCH', opts.platform.architecture],
      ['BUILDVARIANT', opts.platform.variant ?? ''],
    ]);
    this.globalArgs = resolveGlobalArgs(df.metaArgs, this.buildArgs, { escape: df.escape, file: this.file, predefined });
  }

  async compile(): Promise<CompiledBuild> {
    const stages = this.df.stages;
    if (stages.length === 0) throw new UserError(`${this.file} has no FROM instruction; start it with FROM IMAGE.`);
    const target = this.findTarget();
    const needed = this.neededStages(target);
    const compiled: string[] = [];
    for (const s of stages) {
      if (!needed.has(s.index)) continue;
      const r = await this.compileStage(s);
      this.results.set(s.index, r);
      compiled.push(r.label);
    }
    const result = this.results.get(target.index)!;
    if (this.opts.labels && Object.keys(this.opts.labels).length > 0) {
      result.image.config.Labels = { ...(result.image.config.Labels ?? {}), ...this.opts.labels };
    }
    return {
      state: result.state,
      image: result.image,
      stages: compiled,
      secrets: this.secrets,
      entitlements: [...this.entitlements].sort(),
      usesContext: this.contextState !== undefined,
    };
  }

  needed(): Set<number> {
    if (this.df.stages.length === 0) throw new UserError(`${this.file} has no FROM instruction; start it with FROM IMAGE.`);
    return this.neededStages(this.findTarget());
  }

  private findTarget(): Stage {
    const stages = this.df.stages;
    if (this.opts.target === undefined || this.opts.target === '') return stages[stages.length - 1]!;
    const t = this.opts.target.toLowerCase();
    const found = stages.find((s) => s.name === t);
    if (!found) {
      const names = stages.map((s) => s.name).filter((n) => n !== '');
      const known = names.length > 0 ? `the stages are ${names.join(', ')}` : 'no stage is named (add `AS name` to a FROM line)';
      throw new UserError(`target stage "${this.opts.target}" is not in ${this.file}; ${known}.`);
    }
    return found;
  }

  /** A stage referenced by name or index from a stage at `before` (only earlier stages count). */
  private stageRef(ref: string, before: number): Stage | undefined {
    const name = ref.toLowerCase();
    const byName = this.df.stages.find((s) => s.name !== '' && s.name === name && s.index < before);
    if (byName) return byName;
    if (/^\d+$/.test(ref)) {
      const i = Number(ref);
      if (i < before) return this.df.stages[i];
      fail(this.file, this.df.stages[before]?.line ?? 0, `stage ${ref} is referred to before it is defined; only earlier stages can be used`);
    }
    return undefined;
  }

  private baseOf(s: Stage): string {
    return expandStageBase(s, this.globalArgs, { escape: this.df.escape, file: this.file }).baseName;
  }

  // Stages the target depends on, through FROM, COPY --from and RUN --mount from=.
  private neededStages(target: Stage): Set<number> {
    const needed = new Set<number>();
    const visit = (s: Stage) => {
      if (needed.has(s.index)) return;
      needed.add(s.index);
      const refs: string[] = [this.baseOf(s)];
      for (const c of s.commands) {
        if (c.kind === 'copy' && c.from) refs.push(c.from);
        if (c.kind === 'run') for (const m of c.mounts) if ((m.type === 'bind' || m.type === 'cache') && m.from) refs.push(m.from);
      }
      for (const r of refs) {
        const dep = this.stageRef(r, s.index);
        if (dep) visit(dep);
      }
    };
    visit(target);
    return needed;
  }

  private context(): Output {
    if (!this.contextState) {
      this.contextState = local(CONTEXT_NAME, {
        sessionId: this.opts.sessionId,
        sharedKeyHint: CONTEXT_NAME,
        excludePatterns: this.opts.excludePatterns ?? [],
        customName: '[internal] load build context',
      });
    }
    return this.contextState;
  }

  private resolveImageConfig(ref: string, platform: Platform): Promise<ImageConfig> {
    const key = `${ref} ${platformString(platform)}`;
    let p = this.imageCache.get(key);
    if (!p) {
      p = this.opts.resolveImage(ref, platform).then((r) => {
        try {
          return parseImageConfig(JSON.stringify(r.config));
        } catch {
          throw new UserError(`the config of image "${ref}" could not be read; check that it is a container image.`);
        }
      });
      this.imageCache.set(key, p);
    }
    return p;
  }

  private async compileStage(s: Stage): Promise<StageResult> {
    const label = s.name || `stage-${s.index}`;
    const baseName = this.baseOf(s);
    const platformText = expandStageBase(s, this.globalArgs, { escape: this.df.escape, file: this.file }).platform;
    const platform = platformText ? parsePlatform(platformText, this.file, s.line) : this.opts.platform;
    const differs = platformString(platform) !== platformString(this.opts.platform);
    let state: State;
    let img: ImageConfig;
    const baseStage = this.stageRef(baseName, s.index);
    if (baseStage) {
      const r = this.results.get(baseStage.index)!;
      state = r.state;
      img = cloneImageConfig(r.image);
    } else if (baseName === 'scratch') {
      state = null;
      img = emptyImageConfig(platform);
    } else {
      img = cloneImageConfig(await this.resolveImageConfig(baseName, platform));
      state = imageSource(baseName, {
        customName: `[${label} 1/${s.commands.length + 1}] FROM ${baseName}`,
        ...(differs ? { platform } : {}),
      });
    }
    // ONBUILD triggers of the base run first, then the image forgets them.
    const commands: Command[] = [];
    for (const trigger of img.config.OnBuild ?? []) {
      const tree = parse(trigger, { file: this.file });
      for (const raw of tree.instructions) {
        const c = parseInstruction({ ...raw, startLine: s.line, endLine: s.line }, this.file);
        if (!('kind' in c)) fail(this.file, s.line, `the ONBUILD trigger "${trigger}" of the base image is not an instruction`);
        commands.push(c);
      }
    }
    delete img.config.OnBuild;
    commands.push(...s.commands);

    const scope = new StageScope({
      globalArgs: this.globalArgs,
      buildArgs: this.buildArgs,
      escape: this.df.escape,
      file: this.file,
      baseEnv: img.config.Env ?? [],
    });
    const st: StageState = {
      label,
      state,
      img,
      scope,
      buildArgs: [],
      step: 1,
      total: commands.length + 1,
      stageIndex: s.index,
      ...(differs ? { platform } : {}),
    };
    for (const cmd of commands) {
      await this.dispatch(st, cmd);
      st.step++;
    }
    return { stage: s, label, state: st.state, image: st.img };
  }

  private opOptions(st: StageState, code: string): OpOptions {
    return {
      customName: this.name(st, code),
      ...(this.opts.noCache ? { ignoreCache: true } : {}),
      ...(st.platform ? { platform: st.platform } : {}),
    };
  }

  private name(st: StageState, code: string): string {
    return `[${st.label} ${st.step + 1}/${st.total}] ${code}`;
  }

  private async dispatch(st: StageState, raw: Command): Promise<void> {
    const { command: cmd, args } = st.scope.step(raw);
    const img = st.img;
    const cfg = img.config;
    switch (cmd.kind) {
      case 'arg': {
        const parts: string[] = [];
        for (const a of args ?? []) {
          st.buildArgs.push({ key: a.key, value: a.value ?? undefined });
          parts.push(a.value === null ? a.key : `${a.key}=${a.value}`);
        }
        addHistory(img, `ARG ${parts.join(' ')}`, false);
        return;
      }
      case 'env': {
        cfg.Env = [...st.scope.imageEnv].map(([k, v]) => `${k}=${v}`);
        addHistory(img, `ENV ${cmd.env.map((e) => `${e.key}=${e.value}`).join(' ')}`, false);
        return;
      }
      case 'label': {
        cfg.Labels = { ...(cfg.Labels ?? {}) };
        for (const l of cmd.labels) cfg.Labels[l.key] = l.value;
        addHistory(img, `LABEL ${cmd.labels.map((l) => `${l.key}=${l.value}`).join(' ')}`, false);
        return;
      }
      case 'maintainer':
        img.author = cmd.maintainer;
        addHistory(img, `MAINTAINER ${cmd.maintainer}`, false);
        return;
      case 'expose': {
        cfg.ExposedPorts = { ...(cfg.ExposedPorts ?? {}) };
        for (const p of cmd.ports) cfg.ExposedPorts[normalisePort(p, this.file, cmd.startLine)] = {};
        addHistory(img, `EXPOSE map[${cmd.ports.map((p) => `${normalisePort(p, this.file, cmd.startLine)}:{}`).join(' ')}]`, false);
        return;
      }
      case 'volume': {
        cfg.Volumes = { ...(cfg.Volumes ?? {}) };
        for (const v of cmd.volumes) cfg.Volumes[v] = {};
        addHistory(img, `VOLUME [${cmd.volumes.join(' ')}]`, false);
        return;
      }
      case 'stopsignal':
        if (!/^(SIG)?[A-Z0-9+-]+$/i.test(cmd.signal)) fail(this.file, cmd.startLine, `STOPSIGNAL ${cmd.signal} is not a signal name or number`);
        cfg.StopSignal = cmd.signal;
        addHistory(img, `STOPSIGNAL ${cmd.signal}`, false);
        return;
      case 'shell':
        cfg.Shell = [...cmd.shell];
        addHistory(img, `SHELL [${cmd.shell.join(' ')}]`, false);
        return;
      case 'user':
        cfg.User = cmd.user;
        addHistory(img, `USER ${cmd.user}`, false);
        return;
      case 'cmd': {
        const argv = cmd.prependShell ? withShell(img, cmd.cmdLine.join(' ')) : [...cmd.cmdLine];
        cfg.Cmd = argv;
        cfg.ArgsEscaped = true;
        st.cmdSet = true;
        addHistory(img, `CMD ${goQuoteList(argv)}`, false);
        return;
      }
      case 'entrypoint': {
        const argv = cmd.cmdLine === null ? null : cmd.prependShell ? withShell(img, cmd.cmdLine.join(' ')) : [...cmd.cmdLine];
        cfg.Entrypoint = argv;
        if (!st.cmdSet) cfg.Cmd = null;
        addHistory(img, `ENTRYPOINT ${goQuoteList(argv ?? [])}`, false);
        return;
      }
      case 'healthcheck': {
        const h = cmd.health;
        cfg.Healthcheck = {
          Test: [...h.test],
          ...(h.interval ? { Interval: h.interval } : {}),
          ...(h.timeout ? { Timeout: h.timeout } : {}),
          ...(h.startPeriod ? { StartPeriod: h.startPeriod } : {}),
          ...(h.startInterval ? { StartInterval: h.startInterval } : {}),
          ...(h.retries ? { Retries: h.retries } : {}),
        };
        addHistory(img, `HEALTHCHECK ${JSON.stringify(cfg.Healthcheck)}`, false);
        return;
      }
      case 'onbuild':
        cfg.OnBuild = [...(cfg.OnBuild ?? []), cmd.expression];
        addHistory(img, `ONBUILD ${cmd.expression}`, false);
        return;
      case 'workdir':
        this.workdir(st, cmd.path, cmd.code);
        return;
      case 'run':
        await this.run(st, cmd);
        return;
      case 'copy':
      case 'add':
        await this.copy(st, cmd);
        return;
    }
  }

  private workdir(st: StageState, p: string, code: string): void {
    const cfg = st.img.config;
    const current = cfg.WorkingDir || '/';
    const wd = posix.isAbsolute(p) ? posix.normalize(p) : posix.join(current, p);
    const clean = wd.length > 1 && wd.endsWith('/') ? wd.slice(0, -1) : wd;
    cfg.WorkingDir = clean;
    let withLayer = false;
    if (clean !== '/') {
      const owner = cfg.User ? chownSpec(cfg.User) : undefined;
      st.state = file(st.state, [mkdir(clean, 0o755, { makeParents: true, ...(owner ? { owner } : {}) })], this.opOptions(st, code));
      withLayer = true;
    }
    addHistory(st.img, `WORKDIR ${clean}`, withLayer);
  }

  private sourceFor(st: StageState, from: string, line: number): { state: State; isContext: boolean } {
    if (from === '') return { state: this.context(), isContext: true };
    const stage = this.stageRef(from, st.stageIndex);
    if (stage) {
      const r = this.results.get(stage.index);
      if (!r) fail(this.file, line, `stage "${from}" is not compiled`);
      return { state: r.state, isContext: false };
    }
    if (/^\d+$/.test(from)) fail(this.file, line, `there is no stage ${from} before this one`);
    const later = this.df.stages.find((x) => x.name !== '' && x.name === from.toLowerCase());
    if (later) fail(this.file, line, `stage "${from}" is used before it is defined; move it above this stage`);
    return { state: imageSource(from, { customName: `[${st.label}] FROM ${from}` }), isContext: false };
  }

  private async run(st: StageState, cmd: RunCommand): Promise<void> {
    const img = st.img;
    let argv = [...cmd.cmdLine];
    const mounts: ExecMount[] = [];
    if (cmd.files.length > 0) {
      const first = cmd.files[0]!;
      if (argv.length === 1 && cmd.prependShell && parseHeredocWord(argv[0]!)?.name === first.name && cmd.files.length === 1) {
        const data = first.chomp ? chompHeredocContent(first.data) : first.data;
        if (data.startsWith('#!')) {
          // A script with its own interpreter: run it as a file.
          const script = file(null, [mkfile(`/${first.name}`, 0o755, data)], { customName: '[internal] preparing inline document' });
          mounts.push({ type: 'bind', dest: HEREDOC_DIR, source: script, readonly: true });
          argv = [posix.join(HEREDOC_DIR, first.name)];
        } else {
          argv = [data];
        }
      } else {
        let script = argv.join(' ');
        for (const f of cmd.files) script += `\n${f.chomp ? chompHeredocContent(f.data) : f.data}${f.name}`;
        argv = [script];
      }
    }
    if (cmd.prependShell) argv = withShell(img, argv.join(' '));
    const historyArgv = argv;

    const envSecrets: { id: string; env: string; path: string }[] = [];
    const digestIds: string[] = [];
    for (const m of cmd.mounts) {
      const mount = this.runMount(st, cmd, m, envSecrets);
      if (mount) mounts.push(...mount);
      if (m.type === 'secret') digestIds.push(m.id);
    }
    if (envSecrets.length > 0) argv = secretEnvWrapper(envSecrets, argv);

    const env = [...st.scope.env].map(([k, v]) => `${k}=${v}`);
    // A step always gets a PATH, as BuildKit gives it one when the image has none.
    if (!st.scope.env.has('PATH')) env.push(`PATH=${DEFAULT_PATH}`);
    const keys = this.opts.secretCacheKeys;
    if (keys && digestIds.length > 0) {
      const parts = [...new Set(digestIds)].sort().map((id) => `${id}:${keys.get(id) ?? 'absent'}`);
      env.push(`${SECRET_CACHE_ENV}=${parts.join(',')}`);
    }

    let network: NetworkMode = this.opts.defaultNetwork ?? 'sandbox';
    if (cmd.network === 'none') network = 'none';
    if (cmd.network === 'host') network = 'host';
    if (network === 'host') this.entitlements.add('network.host');
    if (cmd.security === 'insecure') this.entitlements.add('security.insecure');

    const result = exec(
      st.state,
      {
        args: argv,
        env,
        cwd: img.config.WorkingDir || '/',
        user: img.config.User ?? '',
        mounts,
        network,
        security: cmd.security,
      },
      this.opOptions(st, cmd.code),
    );
    st.state = result.root;
    addHistory(img, runHistory(historyArgv, st.buildArgs, st.scope.env), true, { solved: true });
  }

  private runMount(st: StageState, cmd: RunCommand, m: RunMount, envSecrets: { id: string; env: string; path: string }[]): ExecMount[] | undefined {
    const wd = st.img.config.WorkingDir || '/';
    const abs = (p: string) => (posix.isAbsolute(p) ? posix.normalize(p) : posix.join(wd, p));
    switch (m.type) {
      case 'secret': {
        this.secrets.push({ id: m.id, stage: st.label, line: cmd.startLine, required: m.required, target: m.target, env: m.env });
        const out: ExecMount[] = [];
        if (m.target !== null) {
          out.push({ type: 'secret', dest: abs(m.target), id: m.id, uid: m.uid, gid: m.gid, mode: m.mode, optional: !m.required });
        }
        if (m.env !== null) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(m.env)) {
            fail(this.file, cmd.startLine, `env=${m.env} in the secret mount "${m.id}" is not a variable name; use letters, digits and _`);
          }
          const path = `${SECRET_ENV_DIR}/${envSecrets.length}`;
          envSecrets.push({ id: m.id, env: m.env, path });
          out.push({ type: 'secret', dest: path, id: m.id, uid: st.img.config.User ? m.uid : 0, gid: m.gid, mode: 0o444, optional: !m.required });
        }
        return out;
      }
      case 'cache': {
        const mount: ExecMount = { type: 'cache', dest: abs(m.target), id: m.id || abs(m.target), sharing: m.sharing, ...(m.readOnly ? { readonly: true } : {}) };
        if (m.from) {
          const src = this.sourceFor(st, m.from, cmd.startLine);
          mount.source = src.state;
          mount.selector = m.source ? posix.join('/', m.source) : '/';
        } else if (m.mode !== 0o755 || m.uid !== 0 || m.gid !== 0) {
          // A fresh cache directory with the asked-for owner and mode.
          mount.source = file(null, [mkdir('/cache', m.mode, { owner: { user: m.uid, group: m.gid } })], { customName: '[internal] cache directory' });
          mount.selector = '/cache';
        }
        return [mount];
      }
      case 'bind': {
        const src = this.sourceFor(st, m.from, cmd.startLine);
        const selector = m.source ? posix.join('/', m.source) : '';
        return [{ type: 'bind', dest: abs(m.target), source: src.state, ...(selector && selector !== '/' ? { selector } : {}), readonly: m.readOnly }];
      }
      case 'tmpfs':
        // The builder's LLB (BuildKit 0.8) has no tmpfs size; refused rather than silently unlimited.
        if (m.size > 0) fail(this.file, cmd.startLine, `RUN --mount=type=tmpfs,size=... is not supported by this builder; drop size= or mount without a limit`);
        return [{ type: 'tmpfs', dest: abs(m.target) }];
      case 'ssh':
        // Even an optional mount is refused: skipping it would ignore what the Dockerfile asked for.
        if (!this.opts.sshAgent) {
          fail(this.file, cmd.startLine, `RUN --mount=type=ssh needs an SSH agent, but hangar build does not forward one; fetch private sources with a secret mount instead`);
        }
        return [{ type: 'ssh', dest: abs(m.target), id: m.id, uid: m.uid, gid: m.gid, mode: m.mode, optional: !m.required }];
    }
  }

  private async copy(st: StageState, cmd: CopyCommand | AddCommand): Promise<void> {
    const isAdd = cmd.kind === 'add';
    const from = cmd.kind === 'copy' ? cmd.from : '';
    const kwName = isAdd ? 'ADD' : 'COPY';
    if (cmd.exclude.length > 0) fail(this.file, cmd.startLine, `${kwName} --exclude is not supported by hangar build yet; list the sources to copy or use .dockerignore`);
    if (cmd.kind === 'copy' && cmd.parents) fail(this.file, cmd.startLine, `COPY --parents is not supported by hangar build yet; copy each directory to its destination`);
    const isUrl = (src: string): boolean => /^https?:\/\//i.test(src);
    if (isAdd && cmd.checksum) {
      if (!cmd.sourcePaths.every(isUrl) || cmd.sourceContents.length > 0) fail(this.file, cmd.startLine, `ADD --checksum only applies to URLs; drop it or ADD a URL`);
      if (!/^sha256:[0-9a-f]{64}$/.test(cmd.checksum)) fail(this.file, cmd.startLine, `ADD --checksum=${cmd.checksum} is not a digest; write it as --checksum=sha256:<64 hex digits>`);
    }
    const wd = st.img.config.WorkingDir || '/';
    const dest = destPath(wd, cmd.dest);
    let mode: number | undefined;
    if (cmd.chmod) {
      if (!/^[0-7]{1,4}$/.test(cmd.chmod)) fail(this.file, cmd.startLine, `--chmod=${cmd.chmod} is not an octal mode; write it like --chmod=755`);
      mode = parseInt(cmd.chmod, 8);
    }
    const sourceCount = cmd.sourcePaths.length + cmd.sourceContents.length;
    if ((sourceCount > 1 || cmd.sourcePaths.some((p) => /[*?[]/.test(p))) && !cmd.dest.endsWith('/') && !(sourceCount === 1 && cmd.dest === '.')) {
      if (sourceCount > 1) fail(this.file, cmd.startLine, `${kwName} with more than one source needs a directory destination ending in /; write ${cmd.dest}/`);
    }
    const owner = cmd.chown ? chownSpec(cmd.chown) : undefined;
    const common = { ...(owner ? { owner } : {}), ...(mode !== undefined ? { mode } : {}) };
    const actions: FileAction[] = [];
    let sourceState: State | undefined;
    for (const src of cmd.sourcePaths) {
      if (isUrl(src) || /^git@|\.git(#.*)?$/.test(src)) {
        if (!isAdd) fail(this.file, cmd.startLine, `COPY cannot take a URL (${src}); use ADD, or download it in a RUN step`);
        if (!isUrl(src)) fail(this.file, cmd.startLine, `ADD from a git repository (${src}) is not supported by hangar build; clone it in a RUN step instead`);
        // Downloaded by the builder, never unpacked; named after the URL's last path segment.
        const name = urlFileName(src);
        const download = httpSource(src, {
          filename: name,
          ...(cmd.checksum ? { checksum: cmd.checksum } : {}),
          customName: `[${st.label}] ${cmd.code}`,
        });
        actions.push(copy(download, `/${name}`, dest, { ...common, createDestPath: true }));
        continue;
      }
      if (sourceState === undefined) sourceState = this.sourceFor(st, from, cmd.startLine).state;
      actions.push(
        copy(sourceState, posix.join('/', src), dest, {
          ...common,
          followSymlink: true,
          dirCopyContents: true,
          attemptUnpack: isAdd,
          createDestPath: true,
          allowWildcard: true,
          allowEmptyWildcard: true,
        }),
      );
    }
    for (const c of cmd.sourceContents) {
      const doc = file(null, [mkfile(`/${c.path}`, 0o644, c.data)], { customName: '[internal] preparing inline document' });
      actions.push(copy(doc, `/${c.path}`, dest, { ...common, createDestPath: true }));
    }
    const kw = isAdd ? 'ADD' : 'COPY';
    st.state = file(st.state, actions, this.opOptions(st, cmd.code));
    const flags = [cmd.chown ? `--chown=${cmd.chown}` : '', cmd.chmod ? `--chmod=${cmd.chmod}` : ''].filter(Boolean);
    const srcs = [...cmd.sourcePaths, ...cmd.sourceContents.map((c) => `<<${c.path}`)];
    addHistory(st.img, [kw, ...flags, ...srcs, cmd.dest].join(' '), true, { solved: true });
  }
}

interface StageState {
  label: string;
  state: State;
  img: ImageConfig;
  scope: StageScope;
  buildArgs: { key: string; value: string | undefined }[];
  step: number;
  total: number;
  stageIndex: number;
  cmdSet?: boolean;
  /** Set when the stage's FROM --platform differs from the build's. */
  platform?: Platform;
}

/** `linux/amd64`, `linux/arm64/v8` → a platform; the OS and architecture are required. */
export function parsePlatform(text: string, file: string, line: number): Platform {
  const parts = text.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_]+$/.test(p))) {
    fail(file, line, `--platform=${text} is not a platform; write it as OS/ARCH, e.g. linux/amd64`);
  }
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
}

function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** The file name `ADD URL` gives a download: the URL path's last segment, as BuildKit's frontend picks it. */
export function urlFileName(url: string): string {
  let pathname = '';
  try {
    pathname = new URL(url).pathname;
  } catch {
    return '__unnamed__';
  }
  let base = posix.basename(pathname);
  try {
    base = decodeURIComponent(base);
  } catch {
    // Kept as written.
  }
  return base === '' || base === '.' || base === '/' || base.includes('/') ? '__unnamed__' : base;
}

/** COPY's destination: relative to WORKDIR, a trailing slash (or `.`) kept to mean "into this directory". */
export function destPath(workdir: string, dest: string): string {
  let d = dest;
  if (d === '.' || d === '') d = './';
  const trailing = d.endsWith('/') || d.endsWith('/.');
  const joined = posix.isAbsolute(d) ? posix.normalize(d) : posix.join(workdir, d);
  const clean = joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
  return trailing && clean !== '/' ? `${clean}/` : clean;
}

/** `--chown` / USER values: numbers are ids, anything else a name looked up in the image. */
export function chownSpec(v: string): ChownSpec {
  const [u, g] = v.split(':', 2) as [string, string | undefined];
  const part = (x: string) => (/^\d+$/.test(x) ? Number(x) : x);
  const spec: ChownSpec = {};
  if (u !== '') spec.user = part(u);
  if (g !== undefined && g !== '') spec.group = part(g);
  return spec;
}

/** EXPOSE's `80`, `80/TCP`, `53/udp` → `80/tcp`, `53/udp`. */
export function normalisePort(p: string, file: string, line: number): string {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
  if (!m) fail(file, line, `EXPOSE ${p} is not a port; write it as PORT or PORT/PROTOCOL, e.g. 8080/tcp`);
  return `${m[1]}${m[2] ? `-${m[2]}` : ''}/${(m[3] ?? 'tcp').toLowerCase()}`;
}

function goQuoteList(argv: string[]): string {
  return `[${argv.map((a) => JSON.stringify(a)).join(' ')}]`;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs the step's command with secrets in environment variables: a small
 * /bin/sh prologue reads each secret file (mounted under /dev, never in a layer),
 * exports it, and execs the original argv unchanged. Values never appear in argv.
 */
export function secretEnvWrapper(secrets: { env: string; path: string }[], argv: string[]): string[] {
  const lines = secrets.map(
    (s) =>
      `if [ -f ${shellQuote(s.path)} ]; then ${s.env}="$(cat ${shellQuote(s.path)}; printf x)"; ${s.env}="\${${s.env}%x}"; else ${s.env}=; fi; export ${s.env}`,
  );
  return ['/bin/sh', '-c', `${lines.join('\n')}\nexec "$@"`, 'hangar-secret-env', ...argv];
}
