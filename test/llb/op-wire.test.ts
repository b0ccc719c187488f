// The hand-written op encoder must write exactly the bytes protobuf-es writes
// for the same op (test/llb/support/reference-op.ts builds them the old way),
// over random graphs that use every field the compiler can set.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { copy, exec, file, http, image, local, mkdir, mkfile, rm, type ExecMount, type Output, type Platform, type State, type Vertex } from '../../src/llb/graph.js';
import { digestOf, marshalDefinition } from '../../src/llb/definition.js';
import { encodeOp } from '../../src/llb/op-wire.js';
import { referenceOpBytes, referenceTerminalBytes } from './support/reference-op.js';

const text = fc.oneof(fc.constant(''), fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }));
const id = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 70_000 }));
const owner = fc.option(
  fc.record({ user: fc.option(fc.oneof(id, fc.constantFrom('app', 'root')), { nil: undefined }), group: fc.option(fc.oneof(id, fc.constantFrom('staff')), { nil: undefined }) }),
  { nil: undefined },
);
const timestamp = fc.option(fc.integer({ min: 0, max: 2_000_000_000_000 }), { nil: undefined });
const platform = fc.option(fc.record({ os: fc.constantFrom('linux', 'windows'), architecture: fc.constantFrom('amd64', 'arm64'), variant: fc.option(fc.constantFrom('v8', 'v7'), { nil: undefined }) }), {
  nil: undefined,
});

type Pick = number;
const mountArb = (pick: fc.Arbitrary<Pick>): fc.Arbitrary<{ kind: string; pick: Pick; dest: string; a: string; n: number; b: boolean; sharing: 'shared' | 'private' | 'locked' }> =>
  fc.record({
    kind: fc.constantFrom('bind', 'cache', 'tmpfs', 'secret', 'ssh'),
    pick,
    dest: fc.constantFrom('/w', '/cache', '/run/secrets/t', '/tmp/x'),
    a: text,
    n: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0o7777 })),
    b: fc.boolean(),
    sharing: fc.constantFrom('shared' as const, 'private' as const, 'locked' as const),
  });

const step = fc.oneof(
  fc.record({ k: fc.constant('image' as const), name: fc.constantFrom('busybox', 'debian:bookworm-slim'), plat: platform, customName: text }),
  fc.record({ k: fc.constant('local' as const), name: fc.constantFrom('context', 'dockerfile'), excludes: fc.array(text, { maxLength: 2 }) }),
  fc.record({ k: fc.constant('http' as const), file: text, sum: fc.boolean() }),
  fc.record({
    k: fc.constant('exec' as const),
    from: fc.nat(),
    args: fc.array(text, { minLength: 1, maxLength: 3 }),
    env: fc.array(text, { maxLength: 3 }),
    cwd: text,
    user: text,
    hostname: fc.option(text, { nil: undefined }),
    hosts: fc.array(fc.record({ host: text, ip: text }), { maxLength: 2 }),
    mounts: fc.array(mountArb(fc.nat()), { maxLength: 3 }),
    network: fc.constantFrom('sandbox' as const, 'host' as const, 'none' as const),
    security: fc.constantFrom('sandbox' as const, 'insecure' as const),
    keep: fc.boolean(),
  }),
  fc.record({
    k: fc.constant('file' as const),
    from: fc.nat(),
    src: fc.nat(),
    scratch: fc.boolean(),
    path: fc.constantFrom('/a', '/b/c', '/x y', '/é'),
    mode: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0o7777 })),
    data: fc.uint8Array({ maxLength: 20 }),
    owner,
    timestamp,
    flags: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
    copyMode: fc.option(fc.integer({ min: 0, max: 0o7777 }), { nil: undefined }),
  }),
);

type StepValue = typeof step extends fc.Arbitrary<infer T> ? T : never;

function build(steps: StepValue[]): State {
  const states: Output[] = [];
  const pick = (i: number): State => (states.length === 0 ? null : states[i % states.length]!);
  for (const s of steps) {
    switch (s.k) {
      case 'image':
        states.push(image(s.name, { ...(s.plat ? { platform: s.plat } : {}), ...(s.customName ? { customName: s.customName } : {}) }));
        break;
      case 'local':
        states.push(local(s.name, { sessionId: 'sess', sharedKeyHint: s.name, excludePatterns: s.excludes }));
        break;
      case 'http':
        states.push(http('https://example.com/f', { filename: s.file || 'f', ...(s.sum ? { checksum: `sha256:${'a'.repeat(64)}` } : {}) }));
        break;
      case 'exec': {
        const mounts: ExecMount[] = s.mounts.map((m): ExecMount => {
          switch (m.kind) {
            case 'bind':
              return { type: 'bind', dest: m.dest, source: pick(m.pick), selector: m.a, readonly: m.b };
            case 'cache':
              return { type: 'cache', dest: m.dest, id: m.a, sharing: m.sharing };
            case 'tmpfs':
              return { type: 'tmpfs', dest: m.dest };
            case 'secret':
              return { type: 'secret', dest: m.dest, id: m.a || 's', uid: m.n, gid: m.n, mode: m.n, optional: m.b };
            default:
              return { type: 'ssh', dest: m.dest, id: m.a, uid: m.n, mode: m.n, optional: m.b };
          }
        });
        const dests = new Set<string>();
        const unique = mounts.filter((m) => (dests.has(m.dest) ? false : (dests.add(m.dest), true)));
        const r = exec(
          pick(s.from),
          {
            args: s.args,
            env: s.env,
            cwd: s.cwd || '/',
            user: s.user,
            ...(s.hostname !== undefined ? { hostname: s.hostname } : {}),
            extraHosts: s.hosts,
            mounts: unique,
            network: s.network,
            security: s.security,
          },
          {},
        );
        const writable = unique.find((m) => m.type === 'bind' && !m.readonly);
        states.push(s.keep || !writable ? r.root : r.mount(writable.dest));
        break;
      }
      case 'file': {
        const [follow, contents, unpack, create, wild, empty, parents] = s.flags as [boolean, boolean, boolean, boolean, boolean, boolean, boolean];
        const base = s.scratch ? null : pick(s.from);
        const own = base === null && s.owner ? { user: typeof s.owner.user === 'string' ? 1 : s.owner.user, group: typeof s.owner.group === 'string' ? 2 : s.owner.group } : s.owner;
        states.push(
          file(base, [
            mkdir(s.path, s.mode, { makeParents: parents, ...(own ? { owner: own } : {}), ...(s.timestamp !== undefined ? { timestamp: s.timestamp } : {}) }),
            mkfile(`${s.path}/f`, s.mode, s.data, { ...(own ? { owner: own } : {}), ...(s.timestamp !== undefined ? { timestamp: s.timestamp } : {}) }),
            copy(pick(s.src), '/', s.path, {
              ...(own ? { owner: own } : {}),
              ...(s.copyMode !== undefined ? { mode: s.copyMode } : {}),
              followSymlink: follow,
              dirCopyContents: contents,
              attemptUnpack: unpack,
              createDestPath: create,
              allowWildcard: wild,
              allowEmptyWildcard: empty,
              ...(s.timestamp !== undefined ? { timestamp: s.timestamp } : {}),
            }),
            rm(`${s.path}/f`, { allowNotFound: wild, allowWildcard: empty }),
          ]),
        );
        break;
      }
    }
  }
  return states.length === 0 ? null : states[states.length - 1]!;
}

/** The definition's ops as the reference encoder writes them, in marshalDefinition's order. */
function referenceDefs(state: State, p: Platform | undefined): Uint8Array[] {
  if (state === null) return [];
  const done = new Map<Vertex, string>();
  const digests: string[] = [];
  const out: Uint8Array[] = [];
  const visit = (v: Vertex): string => {
    const known = done.get(v);
    if (known) return known;
    const inputs = v.inputs.map((i) => visit(i.vertex));
    const bytes = referenceOpBytes(v, inputs, p);
    const digest = digestOf(bytes);
    done.set(v, digest);
    if (!digests.includes(digest)) {
      digests.push(digest);
      out.push(bytes);
    }
    return digest;
  };
  const result = visit(state.vertex);
  out.push(referenceTerminalBytes(result, state.index));
  return out;
}

describe('hand-written op encoding', () => {
  it('writes the bytes protobuf-es writes, on random graphs', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 10 }), platform, (steps, p) => {
        let state: State;
        try {
          state = build(steps);
        } catch {
          return; // a graph the builders refuse (e.g. a user name on an empty filesystem)
        }
        let ours: Uint8Array[];
        try {
          ours = marshalDefinition(state, p ? { platform: p } : {}).definition.def;
        } catch (err) {
          expect(() => referenceDefs(state, p)).toThrow((err as Error).message);
          return;
        }
        const ref = referenceDefs(state, p);
        expect(ours.map((b) => Buffer.from(b).toString('hex'))).toEqual(ref.map((b) => Buffer.from(b).toString('hex')));
      }),
      { numRuns: 400 },
    );
  });

  it('refuses a user name on an empty filesystem, as before', () => {
    const s = file(null, [mkdir('/a', 0o755, { owner: { user: 'app' } })]);
    expect(() => encodeOp(s.vertex, [], undefined)).toThrow(/cannot resolve the user name "app" on an empty filesystem/);
    expect(() => referenceOpBytes(s.vertex, [], undefined)).toThrow(/cannot resolve the user name "app" on an empty filesystem/);
  });
});
