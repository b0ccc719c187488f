import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { copy, exec, file, image, local, mkdir, mkfile, normalizeImageRef, rm, source } from '../../src/llb/graph.js';
import { definitionBytes, digestOf, marshalDefinition } from '../../src/llb/definition.js';
import { decodeOps } from './support/decode-ops.js';
import { MountType, NetMode } from '../../src/buildkit/gen/buildkit/solver/ops_pb.js';

const linux = { os: 'linux', architecture: 'amd64' };

function sampleGraph(sessionId = 'sess') {
  const base = image('busybox');
  const ctx = local('context', { sessionId, excludePatterns: ['.git', 'node_modules'], sharedKeyHint: 'context' });
  const run = exec(
    base,
    {
      args: ['/bin/sh', '-c', 'wc -c < /run/secrets/token'],
      env: ['PATH=/bin'],
      mounts: [
        { type: 'tmpfs', dest: '/tmp' },
        { type: 'secret', dest: '/run/secrets/token', id: 'token' },
        { type: 'bind', dest: '/src', source: ctx, readonly: true },
        { type: 'cache', dest: '/root/.cache', id: 'c1', sharing: 'locked' },
      ],
      network: 'host',
    },
    { customName: 'RUN wc' },
  );
  return file(run.root, [mkdir('/app', 0o755), copy(ctx, '/', '/app', { dirCopyContents: true }), rm('/app/x', { allowNotFound: true })]);
}

describe('LLB definition', () => {
  it('gives the same bytes and digests for the same graph built twice', () => {
    const a = marshalDefinition(sampleGraph(), { platform: linux });
    const b = marshalDefinition(sampleGraph(), { platform: linux });
    expect(a.digests).toEqual(b.digests);
    expect(Buffer.from(definitionBytes(a)).equals(Buffer.from(definitionBytes(b)))).toBe(true);
    expect(a.digests).toHaveLength(5);
  });

  it('names each op by the sha256 of its bytes, inputs by digest, terminal last', () => {
    const m = marshalDefinition(sampleGraph(), { platform: linux });
    const ops = decodeOps(m.definition);
    const seen = new Set<string>();
    ops.forEach(({ digest, op }, i) => {
      expect(digest).toBe(`sha256:${createHash('sha256').update(m.definition.def[i]!).digest('hex')}`);
      expect(digest).toBe(m.digests[i]);
      // Every input was defined earlier in the list.
      for (const input of op.inputs) expect(seen.has(input.digest)).toBe(true);
      seen.add(digest);
    });
    const terminal = ops.at(-1)!.op;
    expect(terminal.op.case).toBeUndefined();
    expect(terminal.inputs).toEqual([expect.objectContaining({ digest: m.result, index: 0n })]);
    expect(ops.at(-2)!.digest).toBe(m.result);
  });

  it('lays out a source op exactly as BuildKit reads it', () => {
    const m = marshalDefinition(image('busybox'), { platform: linux });
    const id = Buffer.from('docker-image://docker.io/library/busybox:latest');
    const sourceMsg = Buffer.concat([Buffer.from([0x0a, id.length]), id]);
    const platformMsg = Buffer.from([0x0a, 5, ...Buffer.from('amd64'), 0x12, 5, ...Buffer.from('linux')]);
    const expected = Buffer.concat([Buffer.from([0x1a, sourceMsg.length]), sourceMsg, Buffer.from([0x52, platformMsg.length]), platformMsg]);
    expect(Buffer.from(m.definition.def[0]!).toString('hex')).toBe(expected.toString('hex'));
    expect(m.digests[0]).toBe(digestOf(expected));
  });

  it('does not depend on the insertion order of source attributes', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 })), { selector: (t) => t[0], maxLength: 8 }), (pairs) => {
        const forward = Object.fromEntries(pairs);
        const backward = Object.fromEntries([...pairs].reverse());
        const a = marshalDefinition(source('local://x', forward));
        const b = marshalDefinition(source('local://x', backward));
        expect(a.digests).toEqual(b.digests);
      }),
      { numRuns: 50 },
    );
  });

  it('changes the digest when anything that matters changes', () => {
    const d = (s: string) => marshalDefinition(sampleGraph(s), { platform: linux }).result;
    expect(d('a')).not.toBe(d('b'));
    const withName = marshalDefinition(exec(image('busybox'), { args: ['true'] }, { customName: 'one' }).root);
    const otherName = marshalDefinition(exec(image('busybox'), { args: ['true'] }, { customName: 'two' }).root);
    // Names are metadata: same op, same digest, different description.
    expect(withName.result).toBe(otherName.result);
    expect(withName.definition.metadata[withName.result]!.description['llb.customname']).toBe('one');
  });

  it('encodes secret, cache, tmpfs and bind mounts with BuildKit indexes', () => {
    const m = marshalDefinition(sampleGraph(), { platform: linux });
    const execOp = decodeOps(m.definition).map((o) => o.op).find((o) => o.op.case === 'exec')!;
    if (execOp.op.case !== 'exec') throw new Error('no exec');
    const ex = execOp.op.value;
    expect(ex.network).toBe(NetMode.HOST);
    const byDest = Object.fromEntries(ex.mounts.map((mt) => [mt.dest, mt]));
    expect(ex.mounts.map((mt) => mt.dest)).toEqual(['/', '/root/.cache', '/run/secrets/token', '/src', '/tmp']);
    expect(byDest['/']).toMatchObject({ input: 0n, output: 0n, mountType: MountType.BIND });
    expect(byDest['/run/secrets/token']).toMatchObject({ input: -1n, output: -1n, mountType: MountType.SECRET });
    expect(byDest['/run/secrets/token']!.secretOpt).toMatchObject({ ID: 'token', mode: 0o400, optional: false });
    expect(byDest['/src']).toMatchObject({ input: 1n, output: -1n, readonly: true });
    expect(byDest['/root/.cache']!.cacheOpt).toMatchObject({ ID: 'c1', sharing: 2 });
    expect(byDest['/tmp']).toMatchObject({ input: -1n, mountType: MountType.TMPFS });
    const caps = Object.keys(m.definition.metadata[m.digests.find((dg, i) => decodeOps(m.definition)[i]!.op.op.case === 'exec')!]!.caps);
    expect(caps).toEqual(expect.arrayContaining(['exec.mount.secret', 'exec.mount.cache', 'exec.mount.tmpfs', 'exec.meta.network', 'meta.description']));
  });

  it('chains file actions after the op inputs', () => {
    const ctx = local('context', { sessionId: 's' });
    const out = file(image('busybox'), [mkdir('/a', 0o755), mkfile('/a/f', 0o644, 'hi'), copy(ctx, '/x', '/a/x')]);
    const fileOp = decodeOps(marshalDefinition(out).definition).map((o) => o.op).find((o) => o.op.case === 'file')!;
    if (fileOp.op.case !== 'file') throw new Error('no file op');
    expect(fileOp.inputs).toHaveLength(2);
    const acts = fileOp.op.value.actions.map((a) => [a.input, a.secondaryInput, a.output]);
    expect(acts).toEqual([
      [0n, -1n, -1n],
      [2n, -1n, -1n],
      [3n, 1n, 0n],
    ]);
  });

  it('shares one op when two branches use the same source', () => {
    const a = exec(image('busybox'), { args: ['true'] }).root;
    const b = file(a, [copy(image('busybox'), '/bin/sh', '/sh')]);
    expect(marshalDefinition(b).digests).toHaveLength(4);
  });

  it('normalises image references like Docker', () => {
    expect(normalizeImageRef('busybox')).toBe('docker.io/library/busybox:latest');
    expect(normalizeImageRef('debian:bookworm-slim')).toBe('docker.io/library/debian:bookworm-slim');
    expect(normalizeImageRef('me/app')).toBe('docker.io/me/app:latest');
    expect(normalizeImageRef('localhost:5000/app')).toBe('localhost:5000/app:latest');
    expect(normalizeImageRef('ghcr.io/a/b@sha256:abc')).toBe('ghcr.io/a/b@sha256:abc');
  });

  it('rejects graphs BuildKit would refuse', () => {
    expect(() => exec(null, { args: [] })).toThrow(/at least one argument/);
    expect(() => exec(null, { args: ['x'], mounts: [{ type: 'tmpfs', dest: 'rel' }] })).toThrow(/absolute/);
    expect(() => marshalDefinition(file(null, [mkdir('/a', 0o755, { owner: { user: 'app' } })]))).toThrow(/numeric id/);
  });
});
