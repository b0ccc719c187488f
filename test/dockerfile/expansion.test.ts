// ARG/ENV scoping and the expansion rule table, as the compiler uses them.
import { describe, expect, it } from 'vitest';
import {
  DockerfileError,
  EXPANSION_RULES,
  expandCommand,
  expandsVariables,
  parseDockerfile,
  resolveGlobalArgs,
  StageScope,
  WordExpander,
  envFrom,
  type Command,
} from '../../src/dockerfile/index.js';

function runStage(text: string, buildArgs: Record<string, string> = {}, stage = 0) {
  const ins = parseDockerfile(text);
  const args = new Map(Object.entries(buildArgs));
  const globalArgs = resolveGlobalArgs(ins.metaArgs, args);
  const scope = new StageScope({ globalArgs, buildArgs: args });
  const st = ins.stages[stage];
  if (!st) throw new Error('no such stage');
  const commands = st.commands.map((c) => scope.step(c).command);
  return { scope, commands, globalArgs };
}

describe('ARG and ENV scoping', () => {
  it('a global ARG is visible in FROM only, until the stage redeclares it', () => {
    const { scope, globalArgs } = runStage('ARG V=1\nFROM busybox:$V\nENV BEFORE=[$V]\nARG V\nENV AFTER=[$V]\n');
    expect(globalArgs.get('V')).toBe('1');
    expect(scope.env.get('BEFORE')).toBe('[]');
    expect(scope.env.get('AFTER')).toBe('[1]');
  });

  it('a build arg beats a default, and ENV beats both', () => {
    const { scope } = runStage('FROM busybox\nARG A=default\nENV SEEN=$A\nENV A=env\nENV LATER=$A\n', { A: 'given' });
    expect(scope.env.get('SEEN')).toBe('given');
    expect(scope.env.get('LATER')).toBe('env');
    expect(scope.imageEnv.has('SEEN')).toBe(true);
  });

  it('ARG values reach RUN but not the image config; ENV values reach both', () => {
    const { scope } = runStage('FROM busybox\nARG A=1\nENV B=2\n');
    expect(scope.env.get('A')).toBe('1');
    expect(scope.imageEnv.has('A')).toBe(false);
    expect(scope.imageEnv.get('B')).toBe('2');
  });

  it('a build arg for an undeclared ARG is not visible', () => {
    const { scope } = runStage('FROM busybox\nENV X=[$NOT_DECLARED]\n', { NOT_DECLARED: 'v' });
    expect(scope.env.get('X')).toBe('[]');
  });

  it('a stage sees only its own declarations', () => {
    const { scope } = runStage('FROM busybox AS a\nARG A=1\nFROM busybox AS b\nENV X=[$A]\n', {}, 1);
    expect(scope.env.get('X')).toBe('[]');
  });
});

describe('expansion rule table', () => {
  it('expands the instructions BuildKit expands, and only those', () => {
    expect(Object.keys(EXPANSION_RULES).sort()).toEqual(
      [
        'add',
        'arg',
        'cmd',
        'copy',
        'entrypoint',
        'env',
        'expose',
        'from',
        'healthcheck',
        'label',
        'maintainer',
        'onbuild',
        'run',
        'shell',
        'stopsignal',
        'user',
        'volume',
        'workdir',
      ].sort(),
    );
    for (const k of ['cmd', 'entrypoint', 'shell', 'healthcheck', 'onbuild', 'maintainer']) expect(expandsVariables(k)).toBe(false);
    for (const k of ['from', 'env', 'label', 'copy', 'add', 'workdir', 'user', 'volume', 'stopsignal', 'expose', 'run', 'arg']) {
      expect(expandsVariables(k)).toBe(true);
    }
  });

  it('leaves RUN and CMD text and COPY --from alone, and expands everything else it lists', () => {
    const { commands } = runStage(
      'FROM busybox\nENV D=/dst U=app\nRUN echo $D\nCMD echo $D\nCOPY --from=$U --chown=$U --chmod=0$U a/$D $D/\nVOLUME $D\nSTOPSIGNAL SIG$U\nUSER $U\n',
    );
    const byKind = (k: Command['kind']) => commands.find((c) => c.kind === k) as Command;
    expect(byKind('run')).toMatchObject({ cmdLine: ['echo $D'] });
    expect(byKind('cmd')).toMatchObject({ cmdLine: ['echo $D'] });
    expect(byKind('copy')).toMatchObject({ from: '$U', chown: 'app', chmod: '0app', sourcePaths: ['a//dst'], dest: '/dst/' });
    expect(byKind('volume')).toMatchObject({ volumes: ['/dst'] });
    expect(byKind('stopsignal')).toMatchObject({ signal: 'SIGapp' });
    expect(byKind('user')).toMatchObject({ user: 'app' });
  });

  it('expandCommand works with any variable source', () => {
    const ins = parseDockerfile('FROM busybox\nWORKDIR /srv/${APP:-none}\n');
    const cmd = ins.stages[0]?.commands[0] as Command;
    expect(expandCommand(cmd, new WordExpander(envFrom({ APP: 'web' })))).toMatchObject({ path: '/srv/web' });
    expect(expandCommand(cmd, new WordExpander(envFrom({})))).toMatchObject({ path: '/srv/none' });
  });
});

describe('expansion errors', () => {
  it('name the word and line, and never quote a build-arg value', () => {
    const value = 'build-arg-value-8c1f';
    let err: unknown;
    try {
      runStage('FROM busybox\nARG S\nARG U\nWORKDIR ${U:?$S}\n', { S: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DockerfileError);
    const msg = (err as DockerfileError).message;
    expect(msg).toBe(
      'Dockerfile:4:9: "${U:?$S}" requires U to be set in "WORKDIR ${U:?$S}"; pass --build-arg U=VALUE or give the ARG a default.',
    );
    expect(msg).not.toContain(value);
  });

  it('report bad substitutions with the instruction', () => {
    expect(() => runStage('FROM busybox\nENV A=${}\n')).toThrow(
      'Dockerfile:2:5: cannot expand "${}": syntax error: bad substitution in "ENV A=${}"',
    );
  });
});
