// Property and fuzz tests: whatever the input, the frontend either returns a
// result or raises its own error type (never a TypeError, never a hang), and
// parse time grows linearly with the file.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DockerfileError,
  envFrom,
  parse,
  parseInstructions,
  processWord,
  resolveGlobalArgs,
  ShellSyntaxError,
  StageScope,
} from '../../src/dockerfile/index.js';
import { check } from '../../src/dockerfile/lint.js';
import { outline } from '../../src/dockerfile/outline.js';
import { listCases, readCase } from './corpus.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

// Runs the whole pure pipeline; returns normally or throws DockerfileError.
function runFrontend(text: string): void {
  const tree = parse(text, { file: 'Dockerfile' });
  const ins = parseInstructions(tree);
  if (ins.stages.length > 0) {
    outline(ins);
    const globalArgs = resolveGlobalArgs(ins.metaArgs, new Map(), { escape: ins.escape });
    for (const st of ins.stages) {
      const scope = new StageScope({ globalArgs, buildArgs: new Map(), escape: ins.escape });
      for (const c of st.commands) scope.step(c);
    }
  }
  check(ins);
}

function onlyOwnErrors(text: string): boolean {
  try {
    runFrontend(text);
  } catch (err) {
    if (err instanceof DockerfileError) {
      // One line, with a location.
      expect(err.message).toMatch(/^Dockerfile:\d+:\d+: /);
      expect(err.message).not.toContain('\n');
      return true;
    }
    throw err;
  }
  return true;
}

// Characters that matter to the parser, to reach deep paths more often than
// uniformly random bytes would.
const TOKENS = [
  '\\',
  '`',
  '"',
  "'",
  '<<',
  '<<-',
  'EOF',
  '$',
  '${',
  '}',
  ':-',
  '#',
  '%%',
  '/',
  '\n',
  '\r\n',
  ' ',
  '\t',
  '[',
  ']',
  '=',
  ',',
  '--',
  '--mount=',
  'type=secret',
  'id=',
  'RUN ',
  'FROM ',
  'COPY ',
  'ENV ',
  'ARG ',
  'ONBUILD ',
  'HEALTHCHECK ',
  '# escape=`\n',
  '# syntax=x\n',
  'a',
  '0',
  '\ufeff',
  '\u00a0',
  '\u0085',
];

const tokenText = fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((a) => a.join(''));

describe('parser robustness', () => {
  it('random bytes only ever raise DockerfileError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => onlyOwnErrors(Buffer.from(bytes).toString('utf8'))),
      { numRuns: RUNS },
    );
  });

  it('random Dockerfile-ish token soup only ever raises DockerfileError', () => {
    fc.assert(
      fc.property(tokenText, (text) => onlyOwnErrors(`FROM busybox\n${text}`)),
      { numRuns: RUNS },
    );
  });

  it('mutations of the corpus only ever raise DockerfileError', () => {
    const corpus = listCases().map((c) => readCase(c).text);
    const mutation = fc.record({
      doc: fc.nat({ max: corpus.length - 1 }),
      edits: fc.array(
        fc.record({
          at: fc.nat(),
          del: fc.nat({ max: 6 }),
          insert: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 4 })),
        }),
        { minLength: 1, maxLength: 6 },
      ),
    });
    fc.assert(
      fc.property(mutation, ({ doc, edits }) => {
        let text = corpus[doc] as string;
        for (const e of edits) {
          const at = text.length === 0 ? 0 : e.at % (text.length + 1);
          text = text.slice(0, at) + e.insert + text.slice(at + e.del);
        }
        return onlyOwnErrors(text);
      }),
      { numRuns: RUNS },
    );
  });

  it('the shell lexer returns or raises ShellSyntaxError on any word', () => {
    const env = envFrom({ A: 'x y', EMPTY: '', P: '/a/b.c' });
    const word = fc
      .array(fc.constantFrom('$', '{', '}', 'A', 'P', 'EMPTY', ':', '-', '+', '?', '#', '%', '/', '*', '\\', '"', "'", ' ', 'x'), {
        maxLength: 30,
      })
      .map((a) => a.join(''));
    fc.assert(
      fc.property(word, fc.boolean(), fc.boolean(), (w, rawQuotes, skipUnset) => {
        try {
          const r = processWord(w, env, { rawQuotes, skipUnsetEnv: skipUnset });
          expect(typeof r.result).toBe('string');
        } catch (err) {
          if (!(err instanceof ShellSyntaxError)) throw err;
        }
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('a word without special characters expands to itself', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_./:@+-]*$/), (w) => {
        expect(processWord(w, envFrom({})).result).toBe(w);
      }),
      { numRuns: RUNS },
    );
  });

  it('ENV values round-trip through quoting', () => {
    // A value single-quoted in ENV comes back unchanged after expansion.
    const value = fc.string({ maxLength: 20 }).filter((s) => !/['\n\r\\]/.test(s));
    fc.assert(
      fc.property(value, (v) => {
        const ins = parseInstructions(parse(`FROM busybox\nENV K='${v}'\n`));
        const scope = new StageScope({ globalArgs: new Map(), buildArgs: new Map() });
        for (const c of (ins.stages[0] as (typeof ins.stages)[number]).commands) scope.step(c);
        expect(scope.env.get('K')).toBe(v);
      }),
      { numRuns: RUNS },
    );
  });
});

function dockerfileOfLines(n: number): string {
  const lines = ['# syntax=docker/dockerfile:1', 'ARG BASE=busybox', 'FROM ${BASE} AS build'];
  let i = 0;
  while (lines.length < n) {
    switch (i++ % 6) {
      case 0:
        lines.push(`RUN --mount=type=secret,id=s${i},required echo step ${i} && \\`, `    cat /run/secrets/s${i} | wc -c`);
        break;
      case 1:
        lines.push(`ENV V${i}="value ${i}" W${i}=$V${i}`);
        break;
      case 2:
        lines.push(`COPY --chown=1:1 src/${i} /app/${i}`);
        break;
      case 3:
        lines.push('RUN <<EOF', `echo heredoc ${i}`, 'EOF');
        break;
      case 4:
        lines.push(`LABEL k${i}=v${i}`);
        break;
      default:
        lines.push(`FROM build AS s${i}`);
    }
  }
  return lines.join('\n') + '\n';
}

function bestTime(fn: () => void, runs = 5): number {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

describe('parser speed', () => {
  it('grows linearly: 8x the lines takes well under 64x the time', () => {
    const small = dockerfileOfLines(1_000);
    const large = dockerfileOfLines(8_000);
    runFrontend(large); // warm up the JIT
    const ts = bestTime(() => parseInstructions(parse(small)));
    const tl = bestTime(() => parseInstructions(parse(large)));
    // Linear would be 8x; a quadratic parser would be about 64x. The margin
    // absorbs a loaded CI machine.
    expect(tl / Math.max(ts, 0.5)).toBeLessThan(24);
  });

  it('long pathological lines stay linear', () => {
    const mk = (n: number) =>
      [
        `# syntax=a${' '.repeat(n)}b`,
        `FROM busybox`,
        `RUN echo ${'\\ '.repeat(n)}`,
        `ENV ${'a=b '.repeat(n / 4)}`,
        `RUN ${'$'.repeat(n)}`,
        `RUN ${'"'.repeat(n)} <<`,
        Array.from({ length: n / 10 }, () => '  --x \\').join('\n'),
        'RUN true',
      ].join('\n');
    const small = mk(10_000);
    const large = mk(80_000);
    const run = (t: string) => {
      try {
        parseInstructions(parse(t));
      } catch (err) {
        if (!(err instanceof DockerfileError)) throw err;
      }
    };
    run(large);
    const ts = bestTime(() => run(small), 3);
    const tl = bestTime(() => run(large), 3);
    expect(tl / Math.max(ts, 0.5)).toBeLessThan(24);
  });
});
