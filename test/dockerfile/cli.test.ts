// `hangar dockerfile parse|outline|check` driven as a user would.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hangar } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hangar-dockerfile-cli-'));
const SECRET_VALUE = 'pa55-VALUE-never-printed-7f3a';

writeFileSync(
  join(dir, 'Dockerfile'),
  [
    '# syntax = docker/dockerfile:1',
    'ARG BASE=busybox',
    'FROM ${BASE}:latest AS build',
    'RUN --mount=type=secret,id=MY_SUPER_SECRET,required \\',
    '    MY_SUPER_SECRET="$(cat /run/secrets/MY_SUPER_SECRET)" sh -c \'test -n "$MY_SUPER_SECRET"\'',
    'COPY <<"EOF" /etc/motd',
    'hello $USER',
    'EOF',
    'FROM build AS final',
    'RUN --mount=type=secret,id=npm,env=NPM_TOKEN,mode=0440,uid=1000 true',
    '',
  ].join('\n'),
);
writeFileSync(
  join(dir, 'Leaky.Dockerfile'),
  'FROM busybox\nARG API_TOKEN\nRUN --mount=type=secret,id=tok cp /run/secrets/tok /tok\n',
);
writeFileSync(join(dir, 'Bad.Dockerfile'), 'FROM busybox\nRUN --mount=type=secret,id=a,mode=99x true\n');
writeFileSync(join(dir, 'secret.txt'), SECRET_VALUE);

describe('hangar dockerfile parse', () => {
  it('prints the raw tree as JSON', async () => {
    const r = await hangar(['dockerfile', 'parse', '--json'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const tree = JSON.parse(r.stdout);
    expect(tree.directives).toEqual({ syntax: 'docker/dockerfile:1' });
    expect(tree.escape).toBe('\\');
    expect(tree.instructions[2]).toEqual({
      keyword: 'run',
      flags: ['--mount=type=secret,id=MY_SUPER_SECRET,required'],
      args: ['    MY_SUPER_SECRET="$(cat /run/secrets/MY_SUPER_SECRET)" sh -c \'test -n "$MY_SUPER_SECRET"\''].map((s) =>
        s.trimStart(),
      ),
      json: false,
      heredocs: [],
      startLine: 4,
      endLine: 5,
    });
    expect(tree.instructions[3].heredocs).toEqual([
      { name: 'EOF', fileDescriptor: 0, expand: false, chomp: false, content: 'hello $USER\n' },
    ]);
  });

  it('reads stdin with -f - and prints the dump form by default', async () => {
    const r = await hangar(['dockerfile', 'parse', '-f', '-'], { input: 'FROM busybox\nENV A=1\nONBUILD RUN x\n' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('from "busybox"\nenv "A" "1" "="\nonbuild (run "x")\n');
  });

  it('reports a malformed Dockerfile with file, line, column and the text, exit 1', async () => {
    const r = await hangar(['dockerfile', 'parse', '-f', 'Bad.Dockerfile', '--json'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'hangar: Bad.Dockerfile:2:5: invalid --mount: invalid value 99x for mode in "--mount=type=secret,id=a,mode=99x"; mode takes an octal number such as 0400.\n',
    );
  });

  it('names a missing file and how to fix it', async () => {
    const r = await hangar(['dockerfile', 'parse', '-f', 'nope/Dockerfile'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('hangar: Dockerfile nope/Dockerfile does not exist; pass its path with -f FILE.\n');
  });
});

describe('hangar dockerfile outline', () => {
  it('lists stages, build args and secrets as JSON', async () => {
    const r = await hangar(['dockerfile', 'outline', '--json'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(o.target).toBe('final');
    expect(o.stages.map((s: { name: string; base: string; needed: boolean }) => [s.name, s.base, s.needed])).toEqual([
      ['build', 'busybox:latest', true],
      ['final', 'build', true],
    ]);
    expect(o.buildArgs).toEqual([{ name: 'BASE', default: 'busybox', stage: '', line: 2 }]);
    expect(o.secrets).toEqual([
      {
        id: 'MY_SUPER_SECRET',
        target: '/run/secrets/MY_SUPER_SECRET',
        env: null,
        required: true,
        mode: '0400',
        uid: 0,
        gid: 0,
        stage: 'build',
        line: 4,
        needed: true,
      },
      { id: 'npm', target: null, env: 'NPM_TOKEN', required: false, mode: '0440', uid: 1000, gid: 0, stage: 'final', line: 10, needed: true },
    ]);
  });

  it('prints tables and honours --target and --build-arg', async () => {
    const r = await hangar(['dockerfile', 'outline', '--target', 'build', '--build-arg', 'BASE=debian'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Target: build');
    expect(r.stdout).toMatch(/^0\s+build\s+debian:latest\s+3\s+yes$/m);
    expect(r.stdout).toMatch(/^1\s+final\s+build\s+9\s+no$/m);
    expect(r.stdout).toMatch(/^MY_SUPER_SECRET\s+\/run\/secrets\/MY_SUPER_SECRET\s+-\s+yes\s+0400\s+0\s+0\s+build\s+4$/m);
  });

  it('rejects an unknown target naming the stages', async () => {
    const r = await hangar(['dockerfile', 'outline', '--target', 'nope'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/target stage "nope" could not be found; the named stages are build, final\.$/m);
  });
});

describe('hangar dockerfile check', () => {
  it('exits 1 on an error-level finding and prints rule, line and fix', async () => {
    const r = await hangar(['dockerfile', 'check', '-f', 'Leaky.Dockerfile'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('Leaky.Dockerfile:2: warning secret-name-in-arg: ARG API_TOKEN looks like a secret');
    expect(r.stdout).toContain('Leaky.Dockerfile:3: error secret-copied-to-filesystem:');
    expect(r.stdout).toContain('    fix: ');
    expect(r.stdout).toMatch(/1 error, 1 warning\.\n$/);
  });

  it('a required secret that is not given is an error; given ones are checked and never printed', async () => {
    const missing = await hangar(['dockerfile', 'check', '--json'], { cwd: dir });
    expect(missing.status).toBe(1);
    const f1 = JSON.parse(missing.stdout).findings;
    expect(f1).toEqual([
      expect.objectContaining({ rule: 'secret-required-missing', severity: 'error', line: 4 }),
    ]);

    const given = await hangar(
      ['dockerfile', 'check', '--json', '--secret', 'id=MY_SUPER_SECRET,src=secret.txt', '--secret', 'id=npm,env=NPM_VALUE'],
      { cwd: dir, env: { NPM_VALUE: SECRET_VALUE } },
    );
    expect(given.stderr).toBe('');
    expect(given.status).toBe(0);
    expect(JSON.parse(given.stdout).findings).toEqual([]);
    expect(given.stdout + given.stderr).not.toContain(SECRET_VALUE);
  });

  it('warns about a given secret that nothing mounts', async () => {
    const r = await hangar(
      ['dockerfile', 'check', '--secret', 'id=MY_SUPER_SECRET,src=secret.txt', '--secret', 'id=extra,src=secret.txt'],
      { cwd: dir },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('warning secret-not-mounted: secret extra is given but no RUN mounts it');
    expect(r.stdout).toContain('warning secret-optional-missing: secret npm is mounted but not given');
    expect(r.stdout).not.toContain(SECRET_VALUE);
  });

  it('takes a secret from stdin with src=/dev/stdin', async () => {
    const r = await hangar(
      ['dockerfile', 'check', '--json', '--secret', 'id=MY_SUPER_SECRET,src=/dev/stdin', '--secret', 'id=npm,src=secret.txt'],
      { cwd: dir, input: SECRET_VALUE },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain(SECRET_VALUE);
  });

  it('rejects a --secret whose source is missing, naming the id and never a value', async () => {
    const r = await hangar(['dockerfile', 'check', '--secret', 'id=MY_SUPER_SECRET,env=UNSET_VAR_X'], {
      cwd: dir,
      env: { UNSET_VAR_X: undefined },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'hangar: secret MY_SUPER_SECRET reads environment variable UNSET_VAR_X, which is not set; export it or use src=FILE.\n',
    );
    const typo = await hangar(['dockerfile', 'check', '--secret', `id=X,${SECRET_VALUE}`], { cwd: dir });
    expect(typo.status).toBe(1);
    expect(typo.stderr).not.toContain(SECRET_VALUE);
  });
});
