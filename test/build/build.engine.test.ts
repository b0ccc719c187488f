// `hangar build` features the engine's own frontend lacks, checked on the
// images they produce: the seed example with secrets as files and env vars,
// the builder Dockerfile (# syntax, heredocs, two stages) offline, RUN
// heredocs, --secret-cache=digest, --target, -t, and an unknown base image.
// After each build with secrets, `docker save` of the image holds none of them.
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { scanImage } from '../../src/build/leak-scan.js';
import { hangar, type CliResult } from '../support/cli.js';
import { tempContext, type TempContext } from './support/context.js';
import { serveDirectory } from './support/differential.js';

const run = promisify(execFile);
const DOCKER = '/usr/bin/docker';
const tags: string[] = [];
const contexts: TempContext[] = [];

// Image ids every build printed: a rebuilt tag and an untagged build leave images no tag names.
const imageIds = new Set<string>();

function noteImage(r: CliResult): CliResult {
  for (const m of `${r.stdout}\n${r.stderr}`.matchAll(/\b(sha256:[0-9a-f]{64})\b/g)) imageIds.add(m[1]!);
  return r;
}

afterAll(async () => {
  for (const c of contexts) c.cleanup();
  if (tags.length > 0) await run(DOCKER, ['image', 'rm', '-f', ...tags]).catch(() => undefined);
  // One at a time: an id that is gone or still used is skipped.
  for (const id of imageIds) await run(DOCKER, ['image', 'rm', id]).catch(() => undefined);
});

function context(files: Record<string, string | Buffer>): TempContext {
  const c = tempContext(files);
  contexts.push(c);
  return c;
}

function tag(name: string): string {
  const t = `hangar-test-build:${name}`;
  tags.push(t);
  return t;
}

// The --secret-cache=digest key file and the image config cache go here, not into the user's own directories.
const config = tempContext({});
contexts.push(config);
const cache = tempContext({});
contexts.push(cache);

/** `hangar build --progress=plain ARGS PATH` in the context's directory; `input` is its stdin. */
async function build(c: TempContext, args: string[], env: NodeJS.ProcessEnv = {}, opts: { path?: string; input?: string } = {}): Promise<CliResult> {
  return noteImage(
    await hangar(['build', '--progress=plain', ...args, opts.path ?? '.'], {
      cwd: c.dir,
      env: { XDG_CONFIG_HOME: config.dir, XDG_CACHE_HOME: cache.dir, ...env },
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      timeoutMs: 240_000,
    }),
  );
}

async function cat(image: string, path: string): Promise<string> {
  const { stdout } = await run(DOCKER, ['run', '--rm', '--network=host', '--entrypoint', '/bin/sh', image, '-c', `cat ${path}`]);
  return stdout;
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

async function expectNoLeak(image: string, secrets: Record<string, string>, outputs: CliResult[]): Promise<void> {
  const scan = await scanImage(image, new Map(Object.entries(secrets)));
  expect(scan.hits).toEqual([]);
  expect(scan.layers).toBeGreaterThan(0);
  for (const o of outputs) {
    for (const v of Object.values(secrets)) {
      expect(o.stdout).not.toContain(v);
      expect(o.stderr).not.toContain(v);
      expect(o.stderr).not.toContain(Buffer.from(v).toString('base64'));
    }
  }
}

describe('hangar build', () => {
  it('runs the seed example with the secret as a file, through env=, and through --secret env=', async () => {
    const value = `seed-${randomBytes(16).toString('hex')}`;
    const c = context({
      Dockerfile: [
        'FROM busybox',
        `RUN --mount=type=secret,id=MY_SUPER_SECRET MY_SUPER_SECRET="$(cat /run/secrets/MY_SUPER_SECRET)" sh -c 'printf %s "$MY_SUPER_SECRET" | sha256sum > /from-file'`,
        `RUN --mount=type=secret,id=MY_SUPER_SECRET,env=MY_SUPER_SECRET sh -c 'printf %s "$MY_SUPER_SECRET" | sha256sum > /from-env; test ! -e /run/secrets/MY_SUPER_SECRET'`,
        'RUN --mount=type=secret,id=NOT_GIVEN,env=EMPTY_ONE sh -c \'test -z "$EMPTY_ONE" && echo empty > /optional-env\'',
        '',
      ].join('\n'),
      'mysecret.txt': value,
    });
    const t1 = tag('seed-file');
    // Each run has a new random value: without --no-cache the steps would come from the cache.
    const r1 = await build(c, ['-t', t1, '--no-cache', '--secret', 'id=MY_SUPER_SECRET,src=mysecret.txt']);
    expect(r1.status, r1.stderr).toBe(0);
    expect((await cat(t1, '/from-file')).split(' ')[0]).toBe(sha256(value));
    expect((await cat(t1, '/from-env')).split(' ')[0]).toBe(sha256(value));
    expect(await cat(t1, '/optional-env')).toBe('empty\n');
    expect(r1.stderr).toContain('warning: secret "NOT_GIVEN"');

    const t2 = tag('seed-env');
    const r2 = await build(c, ['-t', t2, '--no-cache', '--secret', 'id=MY_SUPER_SECRET,env=SEED_VALUE'], { SEED_VALUE: value });
    expect(r2.status, r2.stderr).toBe(0);
    expect((await cat(t2, '/from-env')).split(' ')[0]).toBe(sha256(value));
    await expectNoLeak(t1, { MY_SUPER_SECRET: value }, [r1, r2]);
    await expectNoLeak(t2, { MY_SUPER_SECRET: value }, [r2]);
  });

  it('builds the builder Dockerfile offline: # syntax, two stages, a verbatim heredoc script, ALL_SECRETS', async () => {
    const secrets = { DATABASE_URL: `postgres://u:${randomBytes(8).toString('hex')}@db/x`, API_TOKEN: `tok'"$(x)${randomBytes(8).toString('hex')}` };
    const bundle = Object.entries(secrets)
      .map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'`)
      .join('\n');
    const allSecrets = Buffer.from(bundle).toString('base64');
    const deploy = [
      '#!/usr/bin/env bash',
      'set -euo pipefail',
      'for secret in DATABASE_URL API_TOKEN; do',
      '  echo "${secret}: ${#secret} $(printf %s "${!secret}" | wc -c)"',
      'done',
      '',
    ].join('\n');
    const c = context({
      Dockerfile: [
        '# syntax = docker/dockerfile:1',
        'FROM busybox as tools',
        'FROM debian:bookworm-slim',
        'COPY <<"EOF" /srv/deploy.sh',
        deploy.trimEnd(),
        'EOF',
        'RUN chmod +x /srv/deploy.sh',
        'COPY --from=tools /bin/busybox /usr/bin/',
        'WORKDIR /build',
        'COPY . .',
        'RUN --mount=type=secret,id=ALL_SECRETS eval "$(base64 -d /run/secrets/ALL_SECRETS)" && printf %s "$API_TOKEN" | sha256sum > /build/token.sha && /srv/deploy.sh > /build/deploy.out',
        '',
      ].join('\n'),
      'app.txt': 'application\n',
    });
    const t = tag('builder');
    const r = await build(c, ['-t', t, '--secret-cache=digest', '--secret', 'id=ALL_SECRETS,env=ALL_SECRETS'], { ALL_SECRETS: allSecrets });
    expect(r.status, r.stderr).toBe(0);
    expect(await cat(t, '/srv/deploy.sh')).toBe(deploy);
    const { stdout: mode } = await run(DOCKER, ['run', '--rm', '--entrypoint', 'stat', t, '-c', '%a', '/srv/deploy.sh']);
    expect(mode.trim()).toBe('755');
    expect(await cat(t, '/build/app.txt')).toBe('application\n');
    expect((await cat(t, '/build/token.sha')).split(' ')[0]).toBe(sha256(secrets.API_TOKEN));
    expect(await cat(t, '/build/deploy.out')).toBe(
      `DATABASE_URL: 12 ${Buffer.byteLength(secrets.DATABASE_URL)}\nAPI_TOKEN: 9 ${Buffer.byteLength(secrets.API_TOKEN)}\n`,
    );
    const { stdout: applets } = await run(DOCKER, ['run', '--rm', '--entrypoint', '/usr/bin/busybox', t, 'echo', 'busybox-ok']);
    expect(applets).toBe('busybox-ok\n');
    await expectNoLeak(t, { ...secrets, ALL_SECRETS: allSecrets }, [r]);
  });

  it('runs RUN heredocs: a shebang script as a file, several heredocs through the shell', async () => {
    const c = context({
      Dockerfile: [
        '# syntax=docker/dockerfile:1.4',
        'FROM busybox',
        'RUN <<EOF',
        '#!/bin/sh',
        'echo "script $0" > /shebang',
        'EOF',
        'RUN <<ONE cat > /one && <<TWO cat > /two',
        'first',
        'ONE',
        'second',
        'TWO',
        'ARG NAME=world',
        'COPY <<GREETING /greeting',
        'hello ${NAME}',
        'GREETING',
        '',
      ].join('\n'),
    });
    const t = tag('heredocs');
    const r = await build(c, ['-t', t]);
    expect(r.status, r.stderr).toBe(0);
    expect(await cat(t, '/shebang')).toBe('script /dev/pipes/EOF\n');
    expect(await cat(t, '/one')).toBe('first\n');
    expect(await cat(t, '/two')).toBe('second\n');
    expect(await cat(t, '/greeting')).toBe('hello world\n');
  });

  it('reruns a step whose secret changed only with --secret-cache=digest', async () => {
    const c = context({
      Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=K sh -c \'cat /proc/sys/kernel/random/uuid > /run-id\'\n',
      'k1.txt': `first-${randomBytes(8).toString('hex')}`,
      'k2.txt': `second-${randomBytes(8).toString('hex')}`,
    });
    const t = tag('secret-cache');
    const runId = async (file: string, extra: string[]) => {
      const r = await build(c, ['-t', t, '--secret', `id=K,src=${file}`, ...extra]);
      expect(r.status, r.stderr).toBe(0);
      return cat(t, '/run-id');
    };
    const a = await runId('k1.txt', []);
    expect(await runId('k2.txt', [])).toBe(a); // BuildKit's default: a new value does not rerun the step
    const b = await runId('k1.txt', ['--secret-cache=digest']);
    expect(await runId('k1.txt', ['--secret-cache=digest'])).toBe(b);
    const d = await runId('k2.txt', ['--secret-cache=digest']);
    expect(d).not.toBe(b);
  });

  it('gives RUN --network=none only a loopback interface and takes --build-arg NAME from the environment', async () => {
    const c = context({
      Dockerfile: 'FROM busybox\nARG FROM_ENV\nRUN --network=none sh -c \'ls /sys/class/net > /ifaces; echo "$FROM_ENV" > /arg\'\n',
    });
    const t = tag('network-none');
    const r = await build(c, ['-t', t, '--no-cache', '--build-arg', 'FROM_ENV'], { FROM_ENV: 'from-the-environment' });
    expect(r.status, r.stderr).toBe(0);
    expect(await cat(t, '/ifaces')).toBe('lo\n');
    expect(await cat(t, '/arg')).toBe('from-the-environment\n');
  });

  it('builds the seed example without -t, like docker build: an untagged image', async () => {
    const c = context({
      Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=MY_SUPER_SECRET MY_SUPER_SECRET="$(cat /run/secrets/MY_SUPER_SECRET)" sh -c \'test -n "$MY_SUPER_SECRET" && echo ok > /ok\'\n',
      'mysecret.txt': 'seed-value-untagged',
    });
    const r = noteImage(await hangar(['build', '-q', '--secret', 'id=MY_SUPER_SECRET,src=mysecret.txt', '.'], { cwd: c.dir }));
    expect(r.status, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await cat(id, '/ok')).toBe('ok\n');
    await run(DOCKER, ['image', 'rm', '-f', id]).catch(() => undefined);
  });

  it('builds only the target stage and tags the image', async () => {
    const c = context({ Dockerfile: 'FROM busybox AS a\nRUN echo a > /a\nFROM nosuch/image:1 AS broken\nFROM a AS final\nRUN echo f > /f\n' });
    const t1 = tag('target-a');
    const t2 = tag('target-a2');
    const r = await build(c, ['--target', 'a', '-t', t1, '-t', t2]);
    expect(r.status, r.stderr).toBe(0);
    expect(await cat(t2, '/a')).toBe('a\n');
  });

  it('reads the Dockerfile from stdin with -f -', async () => {
    const c = context({ 'hello.txt': 'from the context\n' });
    const t = tag('stdin-dockerfile');
    const r = await build(c, ['-f', '-', '-t', t], {}, { input: 'FROM busybox\nCOPY hello.txt /hello.txt\n' });
    expect(r.status, r.stderr).toBe(0);
    expect(await cat(t, '/hello.txt')).toBe('from the context\n');
  });

  it('builds a Dockerfile from stdin with no context when PATH is -', async () => {
    const c = context({ 'hello.txt': 'not sent\n' });
    const t = tag('no-context');
    const r = await build(c, ['-t', t], {}, { path: '-', input: 'FROM busybox\nRUN echo built > /built\n' });
    expect(r.status, r.stderr).toBe(0);
    expect(await cat(t, '/built')).toBe('built\n');
    // Nothing from the working directory is a context: COPY finds nothing.
    const copy = await build(c, [], {}, { path: '-', input: 'FROM busybox\nCOPY hello.txt /hello.txt\n' });
    expect(copy.status).toBe(1);
    expect(copy.stderr).toMatch(/hello\.txt/);
  });

  it('names an unknown base image in one sentence', async () => {
    const c = context({ Dockerfile: 'FROM hangar-test/no-such-image:404\nRUN true\n' });
    const r = await build(c, ['-t', tag('unknown-base')]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^hangar: base image "hangar-test\/no-such-image:404" is not in the engine's image store.*--pull.*\.$/);
    // Checked in the engine's store first: the engine was never asked to resolve it from a registry.
    expect(r.stderr).not.toMatch(/registry|dial tcp|lookup /);
  });

  it('checks ADD --checksum on the download, which the engine fetches over loopback', async () => {
    const files = context({ 'tool.sh': '#!/bin/sh\necho tool\n' });
    const server = await serveDirectory(files.dir);
    try {
      const sum = `sha256:${sha256('#!/bin/sh\necho tool\n')}`;
      const c = context({ Dockerfile: `# syntax=docker/dockerfile:1\nFROM busybox\nADD --checksum=${sum} --chmod=755 ${server.url}/tool.sh /usr/local/bin/\nRUN tool.sh > /ran\n` });
      const r = await build(c, ['-t', tag('add-checksum')]);
      expect(r.status, r.stderr).toBe(0);
      expect(await cat(tag('add-checksum'), '/ran')).toBe('tool\n');
      const wrong = context({ Dockerfile: `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} ${server.url}/tool.sh /tool.sh\n` });
      const w = await build(wrong, ['-t', tag('add-checksum-wrong')]);
      expect(w.status).toBe(1);
      expect(w.stderr.trim().split('\n').at(-1)).toMatch(/^hangar: the build failed: .*digest mismatch/);
    } finally {
      await server.close();
    }
  });

  it('writes the result to a file with --output, the id with --iidfile, labels with --label, and runs RUN offline with --network=none', async () => {
    const c = context({ Dockerfile: 'FROM busybox\nLABEL from.dockerfile=1\nRUN ls /sys/class/net > /ifaces\nCOPY hello.txt /hello.txt\n', 'hello.txt': 'hi\n' });
    const t = tag('flags');
    const r = await build(c, ['-t', t, '--iidfile', 'id.txt', '--label', 'org.example.team=build', '--label', 'from.dockerfile=overridden', '--network=none']);
    expect(r.status, r.stderr).toBe(0);
    const { stdout } = await run(DOCKER, ['image', 'inspect', '-f', '{{.Id}} {{json .Config.Labels}}', t]);
    const [id, labels] = stdout.trim().split(' ');
    expect(readFileSync(join(c.dir, 'id.txt'), 'utf8')).toBe(id);
    expect(JSON.parse(labels!)).toEqual({ 'from.dockerfile': 'overridden', 'org.example.team': 'build' });
    expect(await cat(t, '/ifaces')).toBe('lo\n');

    const tarOut = await build(c, ['-o', 'type=tar,dest=fs.tar']);
    expect(tarOut.status, tarOut.stderr).toBe(0);
    expect(tarOut.stderr).toMatch(/Built the result into fs\.tar/);
    const { stdout: fsList } = await run('tar', ['-tf', join(c.dir, 'fs.tar')]);
    expect(fsList.split('\n')).toEqual(expect.arrayContaining(['hello.txt', 'ifaces', 'bin/busybox']));

    // -o DIR (type=local): the same files, written into a directory, as docker build -o writes them.
    const dirOut = await build(c, ['-o', 'out']);
    expect(dirOut.status, dirOut.stderr).toBe(0);
    expect(dirOut.stderr).toMatch(/Built the result into .*out/);
    const { stdout: dirList } = await run('sh', ['-c', "cd out && find . -mindepth 1 | sed 's#^[.]/##' | LC_ALL=C sort"], { cwd: c.dir });
    const fromTar = fsList.split('\n').filter((l) => l !== '').map((l) => l.replace(/\/$/, '')).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(dirList.trim().split('\n')).toEqual(fromTar);
    expect(readFileSync(join(c.dir, 'out', 'hello.txt'), 'utf8')).toBe('hi\n');
    const typed = await build(c, ['-o', 'type=local,dest=out2']);
    expect(typed.status, typed.stderr).toBe(0);
    const { stdout: modes } = await run('stat', ['-c', '%a %F', join(c.dir, 'out2', 'bin', 'busybox'), join(c.dir, 'out2', 'bin')]);
    expect(modes.trim().split('\n')).toEqual(['755 regular file', '755 directory']);

    // The engine's builder has no oci or docker exporter: refused before anything is built.
    const oci = await build(c, ['-t', 'hangar-test-build:oci-name', '-o', 'type=oci,dest=image.tar']);
    expect(oci.status).toBe(1);
    expect(oci.stderr.trim().split('\n').at(-1)).toMatch(/^hangar: --output type=oci needs a standalone buildkitd .*\.$/);
  });

  it('writes with -o DIR the same files docker build -o writes: devices, hard links, setuid, symlinks', async () => {
    const c = context({ Dockerfile: 'FROM debian:bookworm-slim\nRUN ln /usr/bin/env /usr/bin/env-hardlink && chmod 4755 /usr/bin/env-hardlink && mkfifo /fifo\n' });
    const r = await build(c, ['-o', 'ours']);
    expect(r.status, r.stderr).toBe(0);
    await run(DOCKER, ['build', '--network=host', '-q', '-o', join(c.dir, 'theirs'), c.dir], { env: { ...process.env, DOCKER_BUILDKIT: '1' }, maxBuffer: 16 << 20 });
    // Type and mode, link count, size, symlink target, owner of every entry (times differ: docker leaves directories at export time).
    const listing = async (d: string) => (await run('sh', ['-c', `cd ${d} && find . -printf '%p %M %n %s %l %U:%G\\n' | LC_ALL=C sort`], { maxBuffer: 64 << 20 })).stdout;
    const ours = await listing(join(c.dir, 'ours'));
    expect(ours.split('\n').length).toBeGreaterThan(5000);
    expect(ours).toContain('./dev/console crw-rw-rw- 1 0  0:0');
    expect(ours).toMatch(/\.\/usr\/bin\/env-hardlink -rwsr-xr-x 2 /);
    expect(ours).toContain('./fifo prw-r--r-- 1 0  0:0');
    expect(ours).toBe(await listing(join(c.dir, 'theirs')));
  });

  it('traces the client side of a build with HANGAR_DEBUG=1, without secret values', async () => {
    const value = `traced-${randomBytes(10).toString('hex')}`;
    const c = context({ Dockerfile: 'FROM busybox\nCOPY a.txt /a.txt\nRUN --mount=type=secret,id=T test -s /run/secrets/T\n', 'a.txt': 'a\n', 't.txt': value });
    const r = await build(c, ['-t', tag('traced'), '--secret', 'id=T,src=t.txt'], { HANGAR_DEBUG: '1' });
    expect(r.status, r.stderr).toBe(0);
    const trace = r.stderr.split('\n').filter((l) => l.startsWith('hangar: debug: '));
    const steps = trace.map((l) => l.replace(/^hangar: debug: \d+ ms \(cpu \d+ ms\) /, ''));
    expect(steps[0]).toMatch(/^code cache (used|missing): /); // bin/hangar.cjs, before the CLI runs
    expect(steps[1]).toBe('Dockerfile read, secrets loaded');
    expect(steps).toEqual(expect.arrayContaining(['session attached', 'frontend started', 'definition handed to the builder', 'solved and exported']));
    expect(steps.find((s) => s.startsWith('synced context: '))).toMatch(/^synced context: \d+ entries listed in \d+ ms \(\d+ files sent by then\), \d+ files \(\d+ bytes\) sent, done in \d+ ms$/);
    const times = trace.map((l) => Number(/(\d+) ms/.exec(l)![1]));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(r.stderr).not.toContain(value);
  });

  it('compiles ahead of the connection once the base image config is cached by its id, to the same image', async () => {
    const own = context({});
    const c = context({ Dockerfile: 'FROM busybox\nENV STAGE=one\nRUN echo ahead > /a\nCMD ["cat", "/a"]\n' });
    const env = { HANGAR_DEBUG: '1', XDG_CACHE_HOME: own.dir };
    const steps = (r: CliResult) => r.stderr.split('\n').filter((l) => l.startsWith('hangar: debug: ')).map((l) => l.replace(/^hangar: debug: \d+ ms \(cpu \d+ ms\) /, ''));
    const compiledStep = (r: CliResult) => steps(r).find((s) => s.startsWith('compiled '));
    const imageId = (r: CliResult) => /Built (sha256:[0-9a-f]{64})/.exec(r.stderr)?.[1];

    // First build: the frontend asks the builder for busybox's config and keeps it under the image's id.
    const first = await build(c, ['-t', tag('ahead')], env);
    expect(first.status, first.stderr).toBe(0);
    expect(compiledStep(first)).toBe('compiled 1 stage(s) to 3 ops');
    const { stdout: busyboxId } = await run(DOCKER, ['image', 'inspect', '-f', '{{.Id}}', 'busybox']);
    const dir = join(own.dir, 'hangar', 'image-configs');
    expect(readdirSync(dir)).toEqual([`${busyboxId.trim().slice('sha256:'.length)}.json`]);

    // Second: compiled from the cached config before the frontend starts; the same image.
    const second = await build(c, ['-t', tag('ahead')], env);
    expect(second.status, second.stderr).toBe(0);
    expect(compiledStep(second)).toBe('compiled 1 stage(s) to 3 ops (ahead, base image configs from the local cache)');
    expect(imageId(second)).toBe(imageId(first));
    expect(await cat(tag('ahead'), '/a')).toBe('ahead\n');

    // A file that is not what its name says is never used: the frontend asks again and rewrites it.
    const file = join(dir, readdirSync(dir)[0]!);
    appendFileSync(file, ' ');
    const third = await build(c, ['-t', tag('ahead')], env);
    expect(third.status, third.stderr).toBe(0);
    expect(compiledStep(third)).toBe('compiled 1 stage(s) to 3 ops');
    expect(imageId(third)).toBe(imageId(first));
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(busyboxId.trim().slice('sha256:'.length));

    // A base image missing from the engine is the same one sentence either way.
    const missing = context({ Dockerfile: 'FROM hangar-test-absent/none:1\nRUN true\n' });
    const m = await build(missing, [], env);
    expect(m.status).toBe(1);
    expect(m.stderr.trim().split('\n').at(-1)).toBe(
      'hangar: base image "hangar-test-absent/none:1" is not in the engine\'s image store; build or load it first (or pass --pull to let the engine fetch it), or fix the FROM line.',
    );
  });

  it('redacts a secret that a step prints', async () => {
    const value = `printed-${randomBytes(10).toString('hex')}`;
    const c = context({ Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=P cat /run/secrets/P; echo\n', 'p.txt': value });
    const r = await build(c, ['--no-cache', '-t', tag('printed'), '--secret', 'id=P,src=p.txt']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain(value);
    const j = await hangar(['build', '--progress=json', '--no-cache', '-t', tag('printed-json'), '--secret', 'id=P,src=p.txt', '.'], { cwd: c.dir });
    expect(j.status, j.stderr).toBe(0);
    expect(j.stdout).not.toContain(value);
    const events = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.at(-1)).toMatchObject({ result: { tags: ['hangar-test-build:printed-json'] } });
  });
});
