// Differential tests against the engine's own BuildKit (the v0.8 line, so
// only the expansion syntax it knows): the words our frontend expands and the
// secret-mount defaults it computes must be what `docker build` produces.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  expandStageBase,
  parseDockerfile,
  resolveGlobalArgs,
  StageScope,
  type Command,
  type SecretMount,
} from '../../src/dockerfile/index.js';

const run = promisify(execFile);
const DOCKER = '/usr/bin/docker';
const tags: string[] = [];

async function dockerBuild(dir: string, tag: string, extra: string[] = []): Promise<void> {
  tags.push(tag);
  await run(DOCKER, ['build', '-q', '--network=host', '-t', tag, ...extra, dir], {
    env: { ...process.env, DOCKER_BUILDKIT: '1' },
  });
}

async function imageConfig(tag: string): Promise<{
  Env: string[];
  Labels: Record<string, string> | null;
  WorkingDir: string;
  User: string;
  ExposedPorts: Record<string, unknown> | null;
}> {
  const { stdout } = await run(DOCKER, ['image', 'inspect', '--format', '{{json .Config}}', tag]);
  return JSON.parse(stdout);
}

afterAll(async () => {
  if (tags.length) await run(DOCKER, ['rmi', '-f', ...tags]).catch(() => undefined);
});

describe('expansion matches docker build', () => {
  it('ENV, LABEL, WORKDIR, USER and EXPOSE expand as BuildKit expands them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-df-parity-'));
    const text = [
      'ARG BASE=busybox',
      'ARG TAG=latest',
      'FROM ${BASE}:${TAG}',
      'ARG TAG',
      'ARG MODE=dev',
      'ENV P=/usr/local/lib.tar.gz EMPTY=',
      'ENV A=${UNSET:-def} B=${EMPTY:-def} D=${P:+set} E2=${EMPTY:+set}',
      'ENV abc=hello',
      'ENV abc=bye def=$abc',
      'ENV Q1=\'$P\' Q2="$P" Q3=\\$P Q4="a \\"q\\" b" Q5=a\\ b Q6="it\'s" Q7=\'say "hi"\'',
      'ENV T=$TAG M=${MODE}_x N=${NOPE}end',
      'ENV legacy form   value with  spaces',
      'LABEL "k $MODE"="v $TAG" plain=$M',
      'WORKDIR /w/$MODE',
      'WORKDIR sub/${T}',
      'USER ${MODE}:0',
      'ENV PORT=8080',
      'EXPOSE $PORT 80/udp',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'Dockerfile'), text);
    const tag = `hangar-test/df-expansion:${process.pid}`;
    await dockerBuild(dir, tag, ['--build-arg', 'MODE=prod']);
    const cfg = await imageConfig(tag);

    const ins = parseDockerfile(text);
    const buildArgs = new Map([['MODE', 'prod']]);
    const globalArgs = resolveGlobalArgs(ins.metaArgs, buildArgs);
    const stage = ins.stages[0];
    if (!stage) throw new Error('no stage');
    expect(expandStageBase(stage, globalArgs).baseName).toBe('busybox:latest');
    const busyboxEnv = (await imageConfig('busybox:latest')).Env;
    const scope = new StageScope({ globalArgs, buildArgs, baseEnv: busyboxEnv });
    const expanded: Command[] = stage.commands.map((c) => scope.step(c).command);

    expect([...scope.imageEnv].map(([k, v]) => `${k}=${v}`)).toEqual(cfg.Env);
    const labels: Record<string, string> = {};
    let workdir = '/';
    let user = '';
    const ports: Record<string, unknown> = {};
    for (const c of expanded) {
      if (c.kind === 'label') for (const l of c.labels) labels[l.key] = l.value;
      if (c.kind === 'workdir') workdir = c.path.startsWith('/') ? c.path : `${workdir.replace(/\/$/, '')}/${c.path}`;
      if (c.kind === 'user') user = c.user;
      if (c.kind === 'expose') for (const p of c.ports) ports[p.includes('/') ? p : `${p}/tcp`] = {};
    }
    expect(labels).toEqual(cfg.Labels);
    expect(workdir).toBe(cfg.WorkingDir);
    expect(user).toBe(cfg.User);
    expect(ports).toEqual(cfg.ExposedPorts);
  });
});

describe('secret mounts match docker build', () => {
  it('id, target, mode, uid and gid defaults are the ones BuildKit applies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-df-secret-parity-'));
    const value = `parity-${process.pid}-value`;
    writeFileSync(join(dir, 'secret.txt'), value);
    const text = [
      'FROM busybox',
      "RUN --mount=type=secret,target=/root/.npmrc,required stat -c '%n %a %u %g' /root/.npmrc > /r1",
      "RUN --mount=type=secret,id=k,mode=0440,uid=1000,gid=33,required stat -c '%n %a %u %g' /run/secrets/k > /r2",
      "RUN --mount=type=secret,id=k,dst=/etc/app/key,required stat -c '%n %a %u %g' /etc/app/key > /r3",
      "RUN --mount=type=secret,source=k,required stat -c '%n %a %u %g' /run/secrets/k > /r4",
      '',
    ].join('\n');
    writeFileSync(join(dir, 'Dockerfile'), text);
    const tag = `hangar-test/df-secrets:${process.pid}`;
    // Each mount is required: a wrong id default would fail the build.
    await dockerBuild(dir, tag, ['--secret', `id=.npmrc,src=${join(dir, 'secret.txt')}`, '--secret', `id=k,src=${join(dir, 'secret.txt')}`]);
    const { stdout } = await run(DOCKER, ['run', '--rm', '--network=none', tag, 'cat', '/r1', '/r2', '/r3', '/r4']);
    expect(stdout).not.toContain(value);

    const ins = parseDockerfile(text);
    const mounts = (ins.stages[0]?.commands ?? []).flatMap((c) =>
      c.kind === 'run' ? c.mounts.filter((m): m is SecretMount => m.type === 'secret') : [],
    );
    expect(mounts.map((m) => m.id)).toEqual(['.npmrc', 'k', 'k', 'k']);
    const ours = mounts.map((m) => `${m.target} ${m.mode.toString(8)} ${m.uid} ${m.gid}`);
    expect(ours).toEqual(stdout.trim().split('\n'));
  });
});
