// The order in which a build's parts are evaluated (src/llb/evaluation-order.ts),
// and the marshaler that gives each part its definition.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseDockerfile } from '../../src/dockerfile/index.js';
import { compileDockerfile } from '../../src/llb/compile.js';
import { DefinitionMarshaler, definitionBytes, marshalDefinition } from '../../src/llb/definition.js';
import { chainBase, evaluationOrder, type EvaluationStep } from '../../src/llb/evaluation-order.js';
import { copy, exec, file, image, local, mkdir, type Output, type State, type Vertex } from '../../src/llb/graph.js';

const PLATFORM = { os: 'linux', architecture: 'amd64' };

async function compile(text: string) {
  const built = await compileDockerfile(parseDockerfile(text), {
    platform: PLATFORM,
    sessionId: 'session-1',
    defaultNetwork: 'host',
    resolveImage: async () => ({ config: { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], Cmd: ['sh'] } } }),
  });
  return built.state;
}

function stagesDockerfile(stages: number): string {
  const lines: string[] = [];
  for (let i = 1; i <= stages; i++) lines.push(`FROM busybox AS s${i}`, `RUN echo ${i} > /n`, `RUN cp /n /n${i}`);
  lines.push('FROM busybox');
  for (let i = 1; i <= stages; i++) lines.push(`COPY --from=s${i} /n${i} /all/`);
  lines.push('RUN cat /all/* > /count');
  return `${lines.join('\n')}\n`;
}

const nameOf = (s: EvaluationStep): string => s.state.vertex.options.customName ?? '';

function chainOf(result: Output): Vertex[] {
  const chain: Vertex[] = [];
  for (let v: Output | null = result; v; v = chainBase(v.vertex)) chain.push(v.vertex);
  return chain.reverse();
}

function reachable(from: Vertex): Set<Vertex> {
  const seen = new Set<Vertex>();
  const stack = [from];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    for (const i of v.inputs) stack.push(i.vertex);
  }
  return seen;
}

describe('evaluationOrder', () => {
  it('lists the stages a final stage copies from in the order it copies them, and its chain every `chunk` copies', async () => {
    const result = (await compile(stagesDockerfile(10)))!;
    const steps = evaluationOrder(result, { chunk: 4 });
    expect(steps.map((s) => (s.kind === 'input' ? nameOf(s).match(/^\[(s\d+) /)?.[1] : `chain ${nameOf(s).match(/COPY --from=(s\d+)/)?.[1]}`))).toEqual([
      's1', 's2', 's3', 's4', 'chain s4',
      's5', 's6', 's7', 's8', 'chain s8',
      's9', 's10', 'chain s10',
    ]);
    // Each input is the stage's last step, not the base image they share.
    for (const s of steps.filter((x) => x.kind === 'input')) expect(nameOf(s)).toMatch(/RUN cp \/n \/n\d+$/);
    // The chain after the last copy (the final RUN) is left to the build.
    expect(steps.some((s) => s.state.vertex === result.vertex)).toBe(false);
    // A chunk as large as the number of copies: the inputs, then the chain once.
    expect(evaluationOrder(result, { chunk: 64 }).map((s) => s.kind)).toEqual([...Array<string>(10).fill('input'), 'chain']);
  });

  it('orders nothing when fewer than two stages are read or only sources are (a context, an image)', async () => {
    expect(evaluationOrder(await compile('FROM busybox\nCOPY . /app\nRUN du -s /app\n'), { chunk: 4 })).toEqual([]);
    expect(evaluationOrder(await compile('FROM busybox AS a\nRUN echo a > /a\nFROM busybox\nCOPY --from=a /a /a\nCOPY . /app\n'), { chunk: 4 })).toEqual([]);
    expect(evaluationOrder(await compile('FROM busybox\nCOPY --from=debian:bookworm-slim /etc/os-release /a\nCOPY --from=busybox /bin/sh /b\n'), { chunk: 4 })).toEqual([]);
    expect(evaluationOrder(null, { chunk: 4 })).toEqual([]);
  });

  it('lists a stage read twice once, skips one the chain is built on, and counts RUN bind mounts as reads', async () => {
    const text = [
      'FROM busybox AS a',
      'RUN echo a > /a',
      'FROM busybox AS b',
      'RUN echo b > /b',
      'FROM a AS c',
      'RUN --mount=type=bind,from=b,target=/mnt cp /mnt/b /b',
      'COPY --from=a /a /again',
      'FROM busybox AS d',
      'RUN echo d > /d',
      'FROM c',
      'COPY --from=d /d /d',
      'COPY --from=b /b /b2',
      '',
    ].join('\n');
    const result = (await compile(text))!;
    const steps = evaluationOrder(result, { chunk: 1 });
    expect(steps.map((s) => `${s.kind} ${nameOf(s).replace(/^\[([\w-]+) .*?\] /, '$1: ')}`)).toEqual([
      'input b: RUN echo b > /b',
      'chain c: RUN --mount=type=bind,from=b,target=/mnt cp /mnt/b /b',
      'input d: RUN echo d > /d',
      'chain stage-4: COPY --from=d /d /d',
    ]);
  });

  it('follows a chain built on an empty root (FROM scratch)', async () => {
    const result = (await compile('FROM busybox AS a\nRUN echo a > /a\nFROM busybox AS b\nRUN echo b > /b\nFROM scratch\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n'))!;
    expect(chainOf(result)).toHaveLength(2);
    expect(evaluationOrder(result, { chunk: 4 }).map((s) => `${s.kind} ${nameOf(s)}`)).toEqual([
      'input [a 2/2] RUN echo a > /a',
      'input [b 2/2] RUN echo b > /b',
      'chain [stage-2 3/3] COPY --from=b /b /b',
    ]);
  });

  it('on random graphs: every part is inside the result, each input new, in the order the chain reads them', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 16 }), fc.integer({ min: 1, max: 5 }), (plan, chunk) => {
        const { result } = randomGraph(plan);
        if (result === null) return;
        const steps = evaluationOrder(result, { chunk });
        const all = reachable(result.vertex);
        const chain = chainOf(result);
        const seen = new Set<Vertex>();
        let lastChainAt = -1;
        for (const s of steps) {
          expect(all.has(s.state.vertex)).toBe(true);
          if (s.kind === 'chain') {
            const at = chain.indexOf(s.state.vertex);
            expect(at).toBeGreaterThan(lastChainAt);
            lastChainAt = at;
          } else {
            // Not already reached by an earlier part, and not on the chain.
            expect(seen.has(s.state.vertex)).toBe(false);
            expect(chain.includes(s.state.vertex)).toBe(false);
          }
          for (const v of reachable(s.state.vertex)) seen.add(v);
        }
        if (steps.length > 0) {
          expect(steps[steps.length - 1]!.kind).toBe('chain');
          // Every state the chain reads up to the last listed join is covered.
          for (const v of chain.slice(0, lastChainAt + 1)) for (const i of v.inputs) expect(seen.has(i.vertex)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('DefinitionMarshaler', () => {
  it('gives every state of one graph the definition marshalDefinition gives it, byte for byte', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 14 }), fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), (plan, picks) => {
        const { states } = randomGraph(plan);
        if (states.length === 0) return;
        const marshaler = new DefinitionMarshaler({ platform: PLATFORM });
        for (const p of picks) {
          const state = states[p % states.length]!;
          const shared = marshaler.marshal(state);
          const alone = marshalDefinition(state, { platform: PLATFORM });
          expect(shared.digests).toEqual(alone.digests);
          expect(shared.result).toBe(alone.result);
          expect(Buffer.from(definitionBytes(shared)).equals(Buffer.from(definitionBytes(alone)))).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});

type Plan =
  | { k: 'image'; name: string }
  | { k: 'local' }
  | { k: 'exec'; from: number; with: number; bind: boolean; arg: string }
  | { k: 'file'; from: number; src: number; scratch: boolean };

const stepArb: fc.Arbitrary<Plan> = fc.oneof(
  fc.record({ k: fc.constant('image' as const), name: fc.constantFrom('busybox', 'alpine:3') }),
  fc.record({ k: fc.constant('local' as const) }),
  fc.record({ k: fc.constant('exec' as const), from: fc.nat(), with: fc.nat(), bind: fc.boolean(), arg: fc.string({ maxLength: 4 }) }),
  fc.record({ k: fc.constant('file' as const), from: fc.nat(), src: fc.nat(), scratch: fc.boolean() }),
);

function randomGraph(plan: Plan[]): { states: Output[]; result: State } {
  const states: Output[] = [];
  const pick = (i: number): State => (states.length === 0 ? null : states[i % states.length]!);
  for (const s of plan) {
    switch (s.k) {
      case 'image':
        states.push(image(s.name));
        break;
      case 'local':
        states.push(local('context', { sessionId: 'sess', sharedKeyHint: 'context' }));
        break;
      case 'exec': {
        const source = pick(s.with);
        const mounts = s.bind && source ? [{ type: 'bind' as const, dest: '/w', source, readonly: true }] : [];
        states.push(exec(pick(s.from), { args: ['/bin/sh', '-c', `echo ${s.arg}`], mounts }).root);
        break;
      }
      case 'file':
        states.push(file(s.scratch ? null : pick(s.from), [mkdir('/d', 0o755), copy(pick(s.src), '/', '/d')]));
        break;
    }
  }
  return { states, result: states.length === 0 ? null : states[states.length - 1]! };
}
