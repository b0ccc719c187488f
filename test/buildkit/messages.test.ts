// The hand-written codecs of ./src/buildkit/messages.ts against protobuf-es
// and the generated schemas, the reference: every encoder must write the
// bytes toBinary writes for the same message, and every decoder must read
// what fromBinary reads (unknown fields skipped, truncated input refused).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { ListWorkersResponseSchema, SolveRequestSchema, SolveResponseSchema, StatusRequestSchema } from '../../src/buildkit/gen/buildkit/control/control_pb.js';
import {
  ReadFileRequestSchema,
  ReadFileResponseSchema,
  ResolveImageConfigRequestSchema,
  ResolveImageConfigResponseSchema,
  ReturnRequestSchema,
  SolveRequestSchema as GatewaySolveRequestSchema,
  SolveResponseSchema as GatewaySolveResponseSchema,
} from '../../src/buildkit/gen/buildkit/gateway/gateway_pb.js';
import { DefinitionSchema } from '../../src/buildkit/gen/buildkit/solver/ops_pb.js';
import { HealthCheckRequestSchema, HealthCheckResponseSchema } from '../../src/buildkit/gen/grpc/health_pb.js';
import { GetSecretRequestSchema, GetSecretResponseSchema } from '../../src/buildkit/gen/buildkit/session/secrets_pb.js';
import { CredentialsRequestSchema, CredentialsResponseSchema } from '../../src/buildkit/gen/buildkit/session/auth_pb.js';
import { BytesMessageSchema } from '../../src/buildkit/gen/buildkit/session/filesync_pb.js';
import { PacketSchema } from '../../src/buildkit/gen/fsutil/wire_pb.js';
import * as m from '../../src/buildkit/messages.js';

const text = fc.oneof(fc.constant(''), fc.string({ maxLength: 24 }), fc.string({ unit: 'grapheme', maxLength: 12 }));
const bytes = fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 300 }));
// protobuf-es's create() drops a "__proto__" map key; no BuildKit map uses one.
const key = text.filter((k) => k !== '__proto__');
const stringMap = fc.dictionary(key, text, { maxKeys: 4 });
const platform = fc.record({ OS: text, Architecture: text, Variant: text });
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const definition = fc.record({
  def: fc.array(bytes, { maxLength: 4 }),
  metadata: fc.dictionary(key,
    fc.record({ ignoreCache: fc.boolean(), description: stringMap, caps: fc.dictionary(key, fc.boolean(), { maxKeys: 4 }) }),
    { maxKeys: 3 },
  ),
});

/** Hand encoder and toBinary of the same message write the same bytes. */
function sameBytes<T, S extends DescMessage>(arb: fc.Arbitrary<T>, encode: m.Encoder<T>, schema: S, init: (v: T) => MessageInitShape<S>): void {
  fc.assert(
    fc.property(arb, (v) => {
      expect(Buffer.from(encode(v)).toString('hex')).toBe(Buffer.from(toBinary(schema, create(schema, init(v)))).toString('hex'));
    }),
    { numRuns: 300 },
  );
}

/** The hand decoder reads from toBinary's bytes what the message holds. */
function sameReading<T, S extends DescMessage>(arb: fc.Arbitrary<MessageInitShape<S>>, schema: S, decode: m.Decoder<T>, expected: (init: MessageInitShape<S>) => T): void {
  fc.assert(
    fc.property(arb, (init) => {
      const wire = toBinary(schema, create(schema, init));
      expect(decode(wire)).toEqual(expected(init));
      // Cut short, it is refused exactly when protobuf-es refuses it.
      if (wire.length > 1) {
        const cut = wire.subarray(0, wire.length - 1);
        const refused = (f: () => unknown): boolean => {
          try {
            f();
            return false;
          } catch {
            return true;
          }
        };
        expect(refused(() => decode(cut))).toBe(refused(() => fromBinary(schema, cut)));
      }
    }),
    { numRuns: 300 },
  );
}

const defInit = (d: m.LlbDefinition) => ({ def: d.def, metadata: d.metadata });

describe('hand-written BuildKit codecs write what protobuf-es writes', () => {
  it('Definition', () => sameBytes(definition, m.encodeDefinition, DefinitionSchema, defInit));
  it('Definition, with one metadata object under several digests and in several definitions', () =>
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 4 }), definition, (digests, d) => {
        // Each entry is encoded once per metadata object and reused: never under another digest.
        const shared = { ignoreCache: false, description: { 'llb.customname': digests[0]! }, caps: { 'exec.meta.base': true } };
        for (const n of [1, digests.length, 1]) {
          const def = { def: d.def, metadata: Object.fromEntries([...Object.entries(d.metadata), ...digests.slice(0, n).map((k) => [k, shared] as const)]) };
          expect(Buffer.from(m.encodeDefinition(def)).toString('hex')).toBe(Buffer.from(toBinary(DefinitionSchema, create(DefinitionSchema, defInit(def)))).toString('hex'));
        }
      }),
      { numRuns: 200 },
    ));

  it('Control.SolveRequest', () =>
    sameBytes(
      fc.record({
        Ref: text,
        Definition: opt(definition),
        Exporter: text,
        ExporterAttrs: stringMap,
        Session: text,
        Frontend: text,
        FrontendAttrs: opt(stringMap),
        Entitlements: fc.array(text, { maxLength: 3 }),
      }),
      m.encodeControlSolveRequest,
      SolveRequestSchema,
      (q) => ({ ...q, FrontendAttrs: q.FrontendAttrs ?? {}, ...(q.Definition ? { Definition: defInit(q.Definition) } : { Definition: undefined }) }),
    ));

  it('Control.StatusRequest', () => sameBytes(fc.record({ Ref: text }), m.encodeStatusRequest, StatusRequestSchema, (q) => q));

  it('gateway ResolveImageConfigRequest', () =>
    sameBytes(
      fc.record({ Ref: text, Platform: opt(platform), ResolveMode: text, LogName: text }),
      m.encodeResolveImageConfigRequest,
      ResolveImageConfigRequestSchema,
      (q) => q,
    ));

  it('gateway SolveRequest', () =>
    sameBytes(
      fc.record({
        Definition: opt(definition),
        Frontend: opt(text),
        FrontendOpt: opt(stringMap),
        allowResultReturn: opt(fc.boolean()),
        allowResultArrayRef: opt(fc.boolean()),
        Final: opt(fc.boolean()),
        Evaluate: opt(fc.boolean()),
      }),
      m.encodeGatewaySolveRequest,
      GatewaySolveRequestSchema,
      (q) => ({ ...q, Definition: q.Definition ? defInit(q.Definition) : undefined }),
    ));

  it('gateway ReturnRequest', () =>
    sameBytes(
      fc.record({
        result: opt(fc.record({ ref: opt(text), metadata: fc.dictionary(key, bytes, { maxKeys: 3 }) })),
        error: opt(fc.record({ code: fc.integer({ min: -5, max: 20 }), message: text })),
      }),
      m.encodeReturnRequest,
      ReturnRequestSchema,
      (q) => ({
        ...(q.result
          ? { result: { metadata: q.result.metadata, ...(q.result.ref !== undefined ? { result: { case: 'ref' as const, value: { id: q.result.ref } } } : {}) } }
          : {}),
        ...(q.error ? { error: q.error } : {}),
      }),
    ));

  it('gateway ReadFileRequest', () =>
    sameBytes(
      fc.record({ Ref: text, FilePath: text, Range: opt(fc.record({ Offset: fc.bigInt({ min: 0n, max: 1n << 62n }), Length: fc.bigInt({ min: 0n, max: 1n << 40n }) })) }),
      m.encodeReadFileRequest,
      ReadFileRequestSchema,
      (q) => q,
    ));

  it('session answers', () => {
    sameBytes(fc.record({ status: fc.integer({ min: 0, max: 3 }) }), m.encodeHealthCheckResponse, HealthCheckResponseSchema, (q) => q);
    sameBytes(fc.record({ Username: opt(text), Secret: opt(text) }), m.encodeCredentialsResponse, CredentialsResponseSchema, (q) => q);
    sameBytes(fc.record({ data: fc.oneof(bytes, fc.uint8Array({ minLength: 16_000, maxLength: 20_000 })) }), m.encodeGetSecretResponse, GetSecretResponseSchema, (q) => q);
    sameBytes(fc.record({ data: bytes }), m.encodeBytesMessage, BytesMessageSchema, (q) => q);
    sameBytes(fc.record({ type: fc.integer({ min: 0, max: 4 }), ID: fc.nat(), data: bytes }), m.encodeFsPacket, PacketSchema, (q) => q);
  });
});

describe('hand-written BuildKit codecs read what protobuf-es reads', () => {
  it('Control.SolveResponse', () =>
    sameReading(fc.record({ ExporterResponse: stringMap }), SolveResponseSchema, m.decodeControlSolveResponse, (i) => ({ ExporterResponse: { ...i.ExporterResponse } })));

  it('Control.ListWorkersResponse (GC policies skipped)', () =>
    sameReading(
      fc.record({
        record: fc.array(
          fc.record({
            ID: text,
            Labels: stringMap,
            platforms: fc.array(platform, { maxLength: 3 }),
            GCPolicy: fc.array(fc.record({ all: fc.boolean(), keepBytes: fc.bigInt({ min: 0n, max: 1n << 40n }), filters: fc.array(text, { maxLength: 2 }) }), { maxLength: 2 }),
          }),
          { maxLength: 3 },
        ),
      }),
      ListWorkersResponseSchema,
      m.decodeListWorkersResponse,
      (i) => ({ record: (i.record ?? []).map((r) => ({ ID: r.ID ?? '', Labels: { ...r.Labels }, platforms: (r.platforms ?? []).map((p) => ({ OS: p.OS ?? '', Architecture: p.Architecture ?? '', Variant: p.Variant ?? '' })) })) }),
    ));

  it('gateway ResolveImageConfigResponse', () =>
    sameReading(fc.record({ Digest: text, Config: bytes }), ResolveImageConfigResponseSchema, m.decodeResolveImageConfigResponse, (i) => ({ Digest: i.Digest ?? '', Config: i.Config ?? new Uint8Array(0) })));

  it('gateway SolveResponse', () => {
    const resultArb = fc.record({
      result: fc.oneof(
        fc.constant({ case: undefined }),
        fc.record({ case: fc.constant('refDeprecated' as const), value: text }),
        fc.record({ case: fc.constant('ref' as const), value: fc.record({ id: text }) }),
        fc.record({ case: fc.constant('refs' as const), value: fc.record({ refs: fc.dictionary(key, fc.record({ id: text }), { maxKeys: 3 }) }) }),
      ),
      metadata: fc.dictionary(key, bytes, { maxKeys: 3 }),
    });
    sameReading(fc.record({ ref: text, result: opt(resultArb) }), GatewaySolveResponseSchema, m.decodeGatewaySolveResponse, (i) => {
      const out: { ref: string; result?: m.GatewayResult } = { ref: i.ref ?? '' };
      const r = i.result as { result: { case?: string; value?: unknown }; metadata: Record<string, Uint8Array> } | undefined;
      if (r) {
        const res: m.GatewayResult = { metadata: { ...r.metadata } };
        if (r.result.case === 'refDeprecated') res.refDeprecated = r.result.value as string;
        if (r.result.case === 'ref') res.ref = (r.result.value as { id: string }).id;
        if (r.result.case === 'refs') {
          const refs = (r.result.value as { refs: Record<string, { id: string }> }).refs;
          res.refs = Object.fromEntries(Object.entries(refs).map(([k, v]) => [k, v.id]));
        }
        out.result = res;
      }
      return out;
    });
  });

  it('gateway ReadFileResponse', () =>
    sameReading(fc.record({ Data: bytes }), ReadFileResponseSchema, m.decodeReadFileResponse, (i) => ({ Data: i.Data ?? new Uint8Array(0) })));

  it('session requests', () => {
    sameReading(fc.record({ service: text }), HealthCheckRequestSchema, m.decodeHealthCheckRequest, (i) => ({ service: i.service ?? '' }));
    sameReading(fc.record({ Host: text }), CredentialsRequestSchema, m.decodeCredentialsRequest, (i) => ({ Host: i.Host ?? '' }));
    sameReading(fc.record({ ID: text, annotations: stringMap }), GetSecretRequestSchema, m.decodeGetSecretRequest, (i) => ({ ID: i.ID ?? '', annotations: { ...i.annotations } }));
    sameReading(fc.record({ data: bytes }), BytesMessageSchema, m.decodeBytesMessage, (i) => ({ data: i.data ?? new Uint8Array(0) }));
  });

  it('fsutil packets, with their stat (xattrs skipped)', () => {
    const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
    const statArb = fc.record({
      path: text,
      mode: fc.nat({ max: 0xffffffff }),
      uid: fc.nat({ max: 0xffffffff }),
      gid: fc.nat({ max: 0xffffffff }),
      size: int64,
      modTime: int64,
      linkname: text,
      devmajor: int64,
      devminor: int64,
      xattrs: fc.dictionary(key, bytes, { maxKeys: 2 }),
    });
    sameReading(
      fc.record({ type: fc.integer({ min: 0, max: 4 }), ID: fc.nat({ max: 0xffffffff }), data: bytes, stat: opt(statArb) }),
      PacketSchema,
      m.decodeFsPacket,
      (i) => {
        const p: m.FsPacket = { type: i.type ?? 0, ID: i.ID ?? 0, data: i.data ?? new Uint8Array(0) };
        const st = i.stat as (typeof statArb extends fc.Arbitrary<infer S> ? S : never) | undefined;
        if (st) {
          const { xattrs: _x, ...fields } = st;
          p.stat = fields;
        }
        return p;
      },
    );
  });

  it('skips fields it does not know and refuses garbage', () => {
    // Field 15 (varint) and field 16 (length-delimited) before a known field.
    const unknown = Uint8Array.from([0x78, 0x05, 0x82, 0x01, 0x02, 0x61, 0x62, 0x0a, 0x01, 0x78]);
    expect(m.decodeCredentialsRequest(unknown)).toEqual({ Host: 'x' });
    expect(m.decodeEmpty(unknown)).toEqual({});
    expect(() => m.decodeCredentialsRequest(Uint8Array.from([0x0a, 0x05, 0x61]))).toThrow(/past the end/);
    expect(() => m.decodeCredentialsRequest(Uint8Array.from([0x0f]))).toThrow(/wire type/);
  });
});
