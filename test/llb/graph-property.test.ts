// Random graphs: marshaling is deterministic, every input is defined before
// it is used, and digests are the hashes of the bytes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { copy, exec, file, image, local, mkdir, mkfile, rm, type Output, type State } from '../../src/llb/graph.js';
import { digestOf, marshalDefinition } from '../../src/llb/definition.js';
import { decodeOps } from './support/decode-ops.js';

type Step =
  | { k: 'image'; name: string }
  | { k: 'local'; name: string }
  | { k: 'exec'; from: number; arg: string; with: number; ro: boolean }
  | { k: 'file'; from: number; src: number; path: string };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ k: fc.constant('image' as const), name: fc.constantFrom('busybox', 'debian:bookworm-slim', 'alpine:3') }),
  fc.record({ k: fc.constant('local' as const), name: fc.constantFrom('context', 'dockerfile') }),
  fc.record({ k: fc.constant('exec' as const), from: fc.nat(), arg: fc.string({ maxLength: 6 }), with: fc.nat(), ro: fc.boolean() }),
  fc.record({ k: fc.constant('file' as const), from: fc.nat(), src: fc.nat(), path: fc.constantFrom('/a', '/b/c', '/x y') }),
);

function build(steps: Step[]): State {
  const states: Output[] = [];
  const pick = (i: number): State => (states.length === 0 ? null : states[i % states.length]!);
  for (const s of steps) {
    switch (s.k) {
      case 'image':
        states.push(image(s.name));
        break;
      case 'local':
        states.push(local(s.name, { sessionId: 'sess', sharedKeyHint: s.name }));
        break;
      case 'exec': {
        const r = exec(pick(s.from), { args: ['/bin/sh', '-c', `echo ${s.arg}`], mounts: [{ type: 'bind', dest: '/w', source: pick(s.with), readonly: s.ro }, { type: 'secret', dest: '/run/secrets/t', id: 't' }] });
        states.push(s.ro ? r.root : r.mount('/w'));
        break;
      }
      case 'file':
        states.push(file(pick(s.from), [mkdir(s.path, 0o755), mkfile(`${s.path}/f`, 0o644, 'x'), copy(pick(s.src), '/', s.path), rm(`${s.path}/f`)]));
        break;
    }
  }
  return states.length === 0 ? null : states[states.length - 1]!;
}

describe('LLB definition on random graphs', () => {
  it('is deterministic, ordered, and content-addressed', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
        const a = marshalDefinition(build(steps), { platform: { os: 'linux', architecture: 'amd64' } });
        const b = marshalDefinition(build(steps), { platform: { os: 'linux', architecture: 'amd64' } });
        expect(a.digests).toEqual(b.digests);
        expect(new Set(a.digests).size).toBe(a.digests.length);
        const seen = new Set<string>();
        for (const { digest, op } of decodeOps(a.definition)) {
          for (const input of op.inputs) expect(seen.has(input.digest)).toBe(true);
          seen.add(digest);
        }
        a.definition.def.forEach((bytes, i) => expect(digestOf(bytes)).toBe(a.digests[i]));
        // Every op but the terminal one has metadata with its capabilities.
        for (const d of a.digests.slice(0, -1)) expect(Object.keys(a.definition.metadata[d]?.caps ?? {}).length).toBeGreaterThan(0);
      }),
      { numRuns: 150 },
    );
  });
});
