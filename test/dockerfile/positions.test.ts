// Errors point at the physical line and column of the text at fault, also
// inside continuations, after a BOM, with CRLF endings and in ONBUILD.
import { describe, expect, it } from 'vitest';
import { DockerfileError, parse, parseDockerfile } from '../../src/dockerfile/index.js';

function errorOf(text: string, file = 'Dockerfile'): DockerfileError {
  try {
    parseDockerfile(text, { file });
  } catch (err) {
    if (err instanceof DockerfileError) return err;
    throw err;
  }
  throw new Error('expected a DockerfileError');
}

describe('error positions', () => {
  it('a bad flag on a continuation line', () => {
    const e = errorOf('FROM busybox\nRUN --network=host \\\n    --mount=type=secret,id=a,frob=1 \\\n    true\n');
    expect([e.line, e.column]).toEqual([3, 5]);
    expect(e.excerpt).toBe('--mount=type=secret,id=a,frob=1');
  });

  it('an indented instruction', () => {
    const e = errorOf('FROM busybox\n    COPY --nope a b\n');
    expect([e.line, e.column]).toEqual([2, 10]);
  });

  it('with CRLF endings and a BOM', () => {
    const e = errorOf('\ufeffFROM busybox\r\nENV A\r\n');
    expect([e.line, e.column]).toEqual([2, 5]);
    expect(e.message).toBe('Dockerfile:2:5: ENV must have two arguments in "A"; write ENV NAME=VALUE.');
  });

  it('after comments and blank lines inside a continuation', () => {
    const e = errorOf('FROM busybox\nRUN echo \\\n# comment\n\n  --x \\\n  y\nFROM a b\n');
    expect([e.line, e.column]).toEqual([7, 6]);
  });

  it('in an ONBUILD trigger', () => {
    const e = errorOf('FROM busybox\nONBUILD COPY --chmod a b\n');
    expect([e.line, e.column]).toEqual([2, 14]);
    expect(e.problem).toBe('missing a value on flag: --chmod');
  });

  it('uses the file name it is given', () => {
    expect(errorOf('FROM busybox\nFROB x\n', 'build/Dockerfile.prod').message).toMatch(/^build\/Dockerfile\.prod:2:1: /);
  });

  it('a heredoc that never ends points at its instruction', () => {
    const e = errorOf('FROM busybox\nRUN cat <<EOF\nline\n');
    expect([e.line, e.column]).toEqual([2, 1]);
  });

  it('records where every instruction, flag and argument starts', () => {
    const tree = parse('FROM busybox\n  RUN --a=1 \\\n   --b echo hi\n');
    const run = tree.instructions[1];
    expect(run?.positions).toEqual({
      keyword: { line: 2, column: 3 },
      flags: [
        { line: 2, column: 7 },
        { line: 3, column: 4 },
      ],
      args: { line: 3, column: 8 },
    });
  });
});
