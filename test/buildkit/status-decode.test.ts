// The hand-written StatusResponse decoder must read exactly what protobuf-es
// reads from the same bytes (the generated schema is the reference), skip
// fields it does not know, and refuse truncated input.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { timestampDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import { StatusResponseSchema, type StatusResponse } from '../../src/buildkit/gen/buildkit/control/control_pb.js';
import { decodeStatusResponse, type StatusUpdate } from '../../src/buildkit/status-decode.js';

const text = fc.oneof(fc.constant(''), fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 20 }));
const ts = fc.option(fc.record({ seconds: fc.bigInt({ min: 0n, max: 4_000_000_000n }), nanos: fc.integer({ min: 0, max: 999_999_999 }) }), { nil: undefined });
const count = fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 1n << 50n }));

const statusArb = fc.record({
  vertexes: fc.array(
    fc.record({ digest: text, inputs: fc.array(text, { maxLength: 3 }), name: text, cached: fc.boolean(), started: ts, completed: ts, error: text }),
    { maxLength: 4 },
  ),
  statuses: fc.array(
    fc.record({ ID: text, vertex: text, name: text, current: count, total: count, timestamp: ts, started: ts, completed: ts }),
    { maxLength: 4 },
  ),
  logs: fc.array(fc.record({ vertex: text, timestamp: ts, stream: fc.bigInt({ min: 0n, max: 2n }), msg: fc.uint8Array({ maxLength: 64 }) }), { maxLength: 4 }),
});

const date = (t: Timestamp | undefined): Date | undefined => (t && (t.seconds !== 0n || t.nanos !== 0) ? timestampDate(t) : undefined);

/** What the client used to take from protobuf-es's message. */
function reference(m: StatusResponse): StatusUpdate {
  const opt = <T>(k: string, v: T | undefined) => (v === undefined ? {} : { [k]: v });
  return {
    vertexes: m.vertexes.map((v) => ({
      digest: v.digest,
      inputs: [...v.inputs],
      name: v.name,
      cached: v.cached,
      ...opt('started', date(v.started)),
      ...opt('completed', date(v.completed)),
      error: v.error,
    })),
    statuses: m.statuses.map((s) => ({
      ID: s.ID,
      vertex: s.vertex,
      name: s.name,
      current: Number(s.current),
      total: Number(s.total),
      ...opt('timestamp', date(s.timestamp)),
      ...opt('started', date(s.started)),
      ...opt('completed', date(s.completed)),
    })),
    logs: m.logs.map((l) => ({ vertex: l.vertex, ...opt('timestamp', date(l.timestamp)), stream: Number(l.stream), msg: new Uint8Array(l.msg) })),
  };
}

describe('decodeStatusResponse', () => {
  it('reads what protobuf-es reads', () => {
    fc.assert(
      fc.property(statusArb, (init) => {
        const bytes = toBinary(StatusResponseSchema, create(StatusResponseSchema, init));
        const mine = decodeStatusResponse(bytes);
        expect(JSON.parse(JSON.stringify(mine))).toEqual(JSON.parse(JSON.stringify(reference(fromBinary(StatusResponseSchema, bytes)))));
        for (const [i, l] of mine.logs.entries()) expect(Buffer.from(l.msg).equals(Buffer.from(init.logs[i]!.msg))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('skips fields it does not know, at every level', () => {
    const known = toBinary(StatusResponseSchema, create(StatusResponseSchema, { vertexes: [{ digest: 'sha256:a', name: 'RUN x' }] }));
    // Field 4 of StatusResponse (warnings, in newer BuildKit) and field 8 of Vertex (progressGroup), as length-delimited bytes; a fixed64 and a fixed32 too.
    const vertex = Buffer.concat([Buffer.from(known.subarray(2)), Buffer.from([0x42, 0x02, 0x0a, 0x00, 0x49, 1, 2, 3, 4, 5, 6, 7, 8, 0x55, 1, 2, 3, 4])]);
    const bytes = Buffer.concat([Buffer.from([0x0a, vertex.length]), vertex, Buffer.from([0x22, 0x03, 0x0a, 0x01, 0x78])]);
    expect(decodeStatusResponse(bytes)).toEqual({ vertexes: [{ digest: 'sha256:a', inputs: [], name: 'RUN x', cached: false, error: '' }], statuses: [], logs: [] });
  });

  it('refuses truncated messages', () => {
    const bytes = toBinary(StatusResponseSchema, create(StatusResponseSchema, { logs: [{ vertex: 'v', msg: new Uint8Array(10) }] }));
    for (let n = 1; n < bytes.length; n++) expect(() => decodeStatusResponse(bytes.subarray(0, n))).toThrow();
  });
});
