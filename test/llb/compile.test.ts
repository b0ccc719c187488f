// The compiler alone: Dockerfile text in, LLB graph and image config out.
// Base images come from a fixed table of configs, as the builder would give them.
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../src/dockerfile/index.js';
import { UserError } from '../../src/errors.js';
import { compileDockerfile, destPath, chownSpec, secretEnvWrapper, type CompileOptions } from '../../src/llb/compile.js';
import { marshalDefinition } from '../../src/llb/definition.js';
import type { ExecVertex, FileVertex, Output, Vertex } from '../../src/llb/graph.js';

const BASES: Record<string, unknown> = {
  busybox: { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], Cmd: ['sh'] } },
  'debian:bookworm-slim': { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['bash'] } },
  'onbuild-base': { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], OnBuild: ['RUN echo triggered > /t', 'ENV FROM_TRIGGER=1'] } },
};

const opts = (extra: Partial<CompileOptions> = {}): CompileOptions => ({
  platform: { os: 'linux', architecture: 'amd64' },
  sessionId: 'session-1',
  defaultNetwork: 'host',
  resolveImage: async (ref) => {
    const c = BASES[ref];
    if (!c) throw new UserError(`base image ${ref} is not in the engine's image store.`);
    return { config: c };
  },
  ...extra,
});

async function compile(text: string, extra: Partial<CompileOptions> = {}) {
  return compileDockerfile(parseDockerfile(text), opts(extra));
}

function vertices(out: Output | null): Vertex[] {
  const seen = new Set<Vertex>();
  const walk = (v: Vertex) => {
    if (seen.has(v)) return;
    seen.add(v);
    for (const i of v.inputs) walk(i.vertex);
  };
  if (out) walk(out.vertex);
  return [...seen];
}

const execs = (out: Output | null) => vertices(out).filter((v): v is ExecVertex => v.kind === 'exec');

describe('compileDockerfile', () => {
  it('runs shell-form RUN through SHELL with ENV, ARG, WORKDIR and USER', async () => {
    const r = await compile('FROM busybox\nARG V=1\nENV A=b\nWORKDIR /w\nUSER 10\nSHELL ["/bin/sh", "-ec"]\nRUN echo $A\n', { buildArgs: { V: '2' } });
    const [run] = execs(r.state);
    expect(run!.meta.args).toEqual(['/bin/sh', '-ec', 'echo $A']);
    expect(run!.meta.env).toEqual(expect.arrayContaining(['PATH=/bin', 'A=b', 'V=2']));
    expect(run!.meta.cwd).toBe('/w');
    expect(run!.meta.user).toBe('10');
    expect(run!.network).toBe('host');
    expect(r.image.config.Env).toEqual(['PATH=/bin', 'A=b']);
    expect(r.image.history.at(-1)!.created_by).toBe('RUN |1 V=2 /bin/sh -ec echo $A # buildkit');
    expect(r.entitlements).toEqual(['network.host']);
    marshalDefinition(r.state, { platform: { os: 'linux', architecture: 'amd64' } });
  });

  it('compiles only the stages the target needs', async () => {
    const text = 'FROM busybox AS a\nRUN echo a\nFROM nosuchimage AS unused\nFROM a AS b\nRUN echo b\nFROM busybox AS c\nCOPY --from=b / /\n';
    const r = await compile(text, { target: 'b' });
    expect(r.stages).toEqual(['a', 'b']);
    expect((await compile(text)).stages).toEqual(['a', 'b', 'c']);
    await expect(compile(text, { target: 'unused' })).rejects.toThrow(/nosuchimage/);
    await expect(compile(text, { target: 'nope' })).rejects.toThrow(/target stage "nope" is not in Dockerfile; the stages are a, unused, b, c\./);
  });

  it('mounts secrets as files and as env vars, by id only', async () => {
    const r = await compile(
      'FROM busybox\nRUN --mount=type=secret,id=tok --mount=type=secret,id=api,env=API_KEY,required=true ./deploy.sh\n',
    );
    const [run] = execs(r.state);
    const secretMounts = run!.mounts.filter((m) => m.type === 'secret');
    expect(secretMounts.map((m) => [m.dest, m.secret!.id, m.secret!.optional])).toEqual([
      ['/dev/.hangar-secret-env/0', 'api', false],
      ['/run/secrets/tok', 'tok', true],
    ]);
    expect(run!.meta.args.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(run!.meta.args.slice(-3)).toEqual(['/bin/sh', '-c', './deploy.sh']);
    expect(r.secrets.map((s) => [s.id, s.line, s.required])).toEqual([
      ['tok', 2, false],
      ['api', 2, true],
    ]);
  });

  it('mixes secret digests into the cache key only when asked', async () => {
    const text = 'FROM busybox\nRUN --mount=type=secret,id=tok true\n';
    const a = await compile(text);
    const b = await compile(text, { secretCacheKeys: new Map([['tok', 'h1']]) });
    const c = await compile(text, { secretCacheKeys: new Map([['tok', 'h2']]) });
    const d = (x: typeof a) => marshalDefinition(x.state).result;
    expect(new Set([d(a), d(b), d(c)]).size).toBe(3);
    expect(execs(b.state)[0]!.meta.env.some((e) => e.startsWith('HANGAR_SECRET_CACHE_KEY='))).toBe(true);
    expect(execs(a.state)[0]!.meta.env.some((e) => e.startsWith('HANGAR_SECRET_CACHE_KEY='))).toBe(false);
  });

  it('runs a heredoc with a shebang as a file and keeps COPY heredocs verbatim when quoted', async () => {
    const r = await compile(
      '# syntax = docker/dockerfile:1\nFROM busybox\nRUN <<EOF\n#!/bin/sh\necho hi\nEOF\nCOPY <<"EOF" /srv/deploy.sh\necho ${!secret} $(date)\nEOF\n',
    );
    const [run] = execs(r.state);
    expect(run!.meta.args).toEqual(['/bin/sh', '-c', '/dev/pipes/EOF']);
    const files = vertices(r.state).filter((v): v is FileVertex => v.kind === 'file');
    const docs = files.flatMap((f) => f.actions).filter((a) => a.action.action === 'mkfile');
    const texts = docs.map((d) => (d.action.action === 'mkfile' ? Buffer.from(d.action.data).toString() : ''));
    expect(texts).toContain('echo ${!secret} $(date)\n');
  });

  it('runs ONBUILD triggers of the base image and clears them', async () => {
    const r = await compile('FROM onbuild-base\nRUN cat /t\n');
    expect(execs(r.state).map((e) => e.meta.args.at(-1))).toEqual(['cat /t', 'echo triggered > /t']);
    expect(r.image.config.OnBuild).toBeUndefined();
    expect(r.image.config.Env).toContain('FROM_TRIGGER=1');
  });

  it('sets every metadata field', async () => {
    const r = await compile(
      'FROM busybox\nLABEL a=b "c d"=e\nEXPOSE 80 53/UDP\nVOLUME /data\nSTOPSIGNAL SIGINT\nHEALTHCHECK --interval=5s CMD true\nENTRYPOINT ["/bin/app"]\nCMD run\n',
    );
    expect(r.image.config).toMatchObject({
      Labels: { a: 'b', 'c d': 'e' },
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Volumes: { '/data': {} },
      StopSignal: 'SIGINT',
      Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 5e9 },
      Entrypoint: ['/bin/app'],
      Cmd: ['/bin/sh', '-c', 'run'],
    });
  });

  it('keeps HEALTHCHECK --start-interval and a read-only cache mount', async () => {
    const r = await compile('FROM busybox\nHEALTHCHECK --start-period=2s --start-interval=1s CMD true\nRUN --mount=type=cache,target=/c,ro true\n');
    expect(r.image.config.Healthcheck).toMatchObject({ StartPeriod: 2e9, StartInterval: 1e9 });
    const cache = execs(r.state)[0]!.mounts.find((m) => m.type === 'cache');
    expect(cache).toMatchObject({ dest: '/c', readonly: true });
  });

  it('errors clearly on a required ssh mount without an agent', async () => {
    await expect(compile('FROM busybox\nRUN --mount=type=ssh,required=true true\n')).rejects.toThrow(/Dockerfile:2: RUN --mount=type=ssh needs an SSH agent/);
    await expect(compile('FROM busybox\nRUN --mount=type=ssh true\n')).rejects.toThrow(/SSH agent/);
  });
});

describe('helpers', () => {
  it('resolves COPY destinations like BuildKit', () => {
    expect(destPath('/w', '.')).toBe('/w/');
    expect(destPath('/w', 'a/')).toBe('/w/a/');
    expect(destPath('/w', 'a')).toBe('/w/a');
    expect(destPath('/w', '/abs/')).toBe('/abs/');
    expect(destPath('/', '.')).toBe('/');
  });
  it('parses --chown', () => {
    expect(chownSpec('1000:1000')).toEqual({ user: 1000, group: 1000 });
    expect(chownSpec('app')).toEqual({ user: 'app' });
    expect(chownSpec('app:grp')).toEqual({ user: 'app', group: 'grp' });
  });
  it('passes secret env values through files, never argv', () => {
    const argv = secretEnvWrapper([{ env: 'K', path: '/dev/x/0' }], ['echo', 'hi']);
    expect(argv.slice(-2)).toEqual(['echo', 'hi']);
    expect(argv[2]).toContain("cat '/dev/x/0'");
  });
});

describe('compileDockerfile, less common input', () => {
  it('gives FROM --platform to the base image and the stage ops', async () => {
    const seen: string[] = [];
    const r = await compileDockerfile(parseDockerfile('FROM --platform=linux/arm64 busybox\nRUN true\n'), {
      ...opts(),
      resolveImage: async (ref, p) => {
        seen.push(`${ref} ${p.os}/${p.architecture}`);
        return { config: BASES.busybox };
      },
    });
    expect(seen).toEqual(['busybox linux/arm64']);
    expect(execs(r.state)[0]!.options.platform).toEqual({ os: 'linux', architecture: 'arm64' });
    await expect(compile('FROM --platform=linux busybox\n')).rejects.toThrow(/--platform=linux is not a platform/);
  });

  it('refuses what it does not implement instead of ignoring it', async () => {
    await expect(compile('FROM busybox\nCOPY --exclude=*.md . /app\n')).rejects.toThrow(/Dockerfile:2: COPY --exclude is not supported/);
    await expect(compile('FROM busybox\nADD git@example.com:org/repo.git /src\n')).rejects.toThrow(/Dockerfile:2: ADD from a git repository/);
    await expect(compile('FROM busybox\nCOPY https://example.com/x /x\n')).rejects.toThrow(/Dockerfile:2: COPY cannot take a URL/);
    await expect(compile('FROM busybox\nADD --checksum=sha256:00 https://example.com/x /x\n')).rejects.toThrow(/is not a digest/);
    await expect(compile(`FROM busybox\nADD --checksum=sha256:${'a'.repeat(64)} local.txt /x\n`)).rejects.toThrow(/only applies to URLs/);
    await expect(compile('FROM busybox\nCOPY --chmod=u+x a /a\n')).rejects.toThrow(/not an octal mode/);
    await expect(compile('FROM busybox\nRUN --mount=type=tmpfs,target=/t,size=1m true\n')).rejects.toThrow(/Dockerfile:2: RUN --mount=type=tmpfs,size=\.\.\. is not supported/);
  });

  it('downloads ADD URLs on the builder, named after the last path segment, never unpacked', async () => {
    const sum = `sha256:${'b'.repeat(64)}`;
    const r = await compile(`FROM busybox\nWORKDIR /srv\nADD --chown=1:2 --chmod=640 --checksum=${sum} https://example.com/dl/tool%20v1.tar.gz?x=1 ./\nADD http://127.0.0.1:8080/ /named\n`);
    const sources = vertices(r.state).filter((v) => v.kind === 'source' && /^https?:/.test(v.identifier));
    expect(sources.map((v) => (v.kind === 'source' ? [v.identifier, v.attrs, v.caps] : []))).toEqual(
      expect.arrayContaining([
        ['https://example.com/dl/tool%20v1.tar.gz?x=1', { 'http.checksum': sum, 'http.filename': 'tool v1.tar.gz' }, expect.arrayContaining(['source.http', 'source.http.checksum'])],
        ['http://127.0.0.1:8080/', { 'http.filename': '__unnamed__' }, expect.arrayContaining(['source.http'])],
      ]),
    );
    const copies = vertices(r.state)
      .filter((v): v is FileVertex => v.kind === 'file')
      .flatMap((v) => v.actions)
      .map((a) => a.action)
      .filter((a) => a.action === 'copy')
      .map((a) => ({ src: a.src, dest: a.dest, ...a.options }));
    expect(copies).toEqual(
      expect.arrayContaining([{ src: '/tool v1.tar.gz', dest: '/srv/', mode: 0o640, owner: { user: 1, group: 2 }, createDestPath: true }, { src: '/__unnamed__', dest: '/named', createDestPath: true }]),
    );
    expect(r.image.history.map((h) => h.created_by)).toContain(`ADD --chown=1:2 --chmod=640 https://example.com/dl/tool%20v1.tar.gz?x=1 ./ # buildkit`);
  });

  it('keeps secret ids, never values, in op names and history', async () => {
    const r = await compile('FROM busybox\nRUN --mount=type=secret,id=tok,env=TOK echo done\n', { secretCacheKeys: new Map([['tok', 'digest-only']]) });
    const text = JSON.stringify(r.image) + vertices(r.state).map((v) => v.options.customName ?? '').join('\n');
    expect(text).toContain('id=tok');
    expect(r.image.history.at(-1)!.created_by).toBe('RUN /bin/sh -c echo done # buildkit');
  });
});

describe('compileDockerfile, COPY rules', () => {
  it('needs a directory destination for several sources', async () => {
    await expect(compile('FROM busybox\nCOPY a b /dest\n')).rejects.toThrow(/Dockerfile:2: COPY with more than one source needs a directory destination ending in \/; write \/dest\//);
    await compile('FROM busybox\nCOPY a b /dest/\n');
  });

  it('refuses a stage used before its definition', async () => {
    await expect(compile('FROM busybox AS first\nCOPY --from=later /x /x\nFROM busybox AS later\n', { target: 'first' })).rejects.toThrow(
      /stage "later" is used before it is defined/,
    );
  });

  it('gives every step a PATH', async () => {
    const r = await compile('FROM scratch\nENV PATH=\nFROM busybox\nRUN true\n');
    expect(execs(r.state)[0]!.meta.env).toContain('PATH=/bin');
  });
});
