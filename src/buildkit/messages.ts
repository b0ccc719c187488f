// Hand-written codecs for the BuildKit messages a build exchanges: Control
// (Solve, Status, ListWorkers), the frontend gateway (ResolveImageConfig,
// Solve, Return, ReadFile) and the session Hangar serves (health, secrets,
// auth, FileSync/FileSend). Each is the subset of its .proto (under proto/)
// that Hangar sets or reads, by field number; fields it does not know are
// skipped when decoding. A property test holds every codec to what
// protobuf-es writes and reads for the same message, so the generated schemas
// stay the reference while a build no longer loads them (their start-up cost
// came before the builder could start on the work).
//
// Must never: keep a copy of a secret value beyond the bytes it returns
// (GetSecret answers are built in one exact-size buffer the caller wipes).
import type { StatFields } from './filesync/wire.js';
import { ProtoReader, ProtoWriter } from './protowire.js';

export type Encoder<T> = (value: T) => Uint8Array;
export type Decoder<T> = (bytes: Uint8Array) => T;

const EMPTY: Uint8Array = new Uint8Array(0);

/** Encodes a message with no fields we set. */
export const encodeEmpty: Encoder<unknown> = () => EMPTY;
/** Reads a message whose fields we do not need. */
export const decodeEmpty: Decoder<Record<string, never>> = (bytes) => {
  const r = new ProtoReader(bytes);
  while (!r.done) r.skip(r.varint() & 7);
  return {};
};

function encodeWith(build: (w: ProtoWriter) => void): Uint8Array {
  const w = new ProtoWriter();
  build(w);
  return w.finish();
}

function readFields(bytes: Uint8Array | ProtoReader, field: (tag: number, r: ProtoReader) => boolean): void {
  const r = bytes instanceof ProtoReader ? bytes : new ProtoReader(bytes);
  while (!r.done) {
    const tag = r.varint();
    if (!field(tag, r)) r.skip(tag & 7);
  }
}

const readString = (r: ProtoReader): string => r.string();
const readBytes = (r: ProtoReader): Uint8Array => r.bytes();

// ------------------------------------------------------------ pb (ops.proto)

/** pb.Platform */
export interface PlatformFields {
  OS: string;
  Architecture: string;
  Variant: string;
}

function writePlatform(w: ProtoWriter, field: number, p: PlatformFields): void {
  w.message(field, (m) => {
    m.string(1, p.Architecture);
    m.string(2, p.OS);
    m.string(3, p.Variant);
  });
}

function readPlatform(r: ProtoReader): PlatformFields {
  const p: PlatformFields = { OS: '', Architecture: '', Variant: '' };
  readFields(r.message(), (tag, m) => {
    if (tag === 0x0a) p.Architecture = m.string();
    else if (tag === 0x12) p.OS = m.string();
    else if (tag === 0x1a) p.Variant = m.string();
    else return false;
    return true;
  });
  return p;
}

/** pb.OpMetadata, the fields Hangar sets. */
export interface OpMetadataFields {
  ignoreCache: boolean;
  description: Record<string, string>;
  caps: Record<string, boolean>;
}

/** pb.Definition: marshaled ops, and metadata by op digest. */
export interface LlbDefinition {
  def: Uint8Array[];
  metadata: Record<string, OpMetadataFields>;
}

function writeDefinition(w: ProtoWriter, field: number, d: LlbDefinition): void {
  w.message(field, (m) => writeDefinitionFields(m, d));
}

function writeDefinitionFields(m: ProtoWriter, d: LlbDefinition): void {
  for (const op of d.def) m.bytes(1, op, true);
  for (const digest of Object.keys(d.metadata)) m.bytes(2, metadataEntry(digest, d.metadata[digest]!), true);
}

// A frontend that has the builder evaluate parts of a build sends the same
// op's metadata in many definitions (src/build/evaluate-in-order.ts); each
// entry is encoded once per metadata object.
const encodedEntries = new WeakMap<OpMetadataFields, { digest: string; bytes: Uint8Array }>();

/** One `metadata` map entry's bytes: the digest and its OpMetadata. */
function metadataEntry(digest: string, meta: OpMetadataFields): Uint8Array {
  const known = encodedEntries.get(meta);
  if (known?.digest === digest) return known.bytes;
  const bytes = encodeWith((e) => {
    e.string(1, digest, true);
    e.message(2, (o) => {
      o.bool(1, meta.ignoreCache);
      o.stringMap(2, meta.description);
      for (const cap of Object.keys(meta.caps)) {
        o.message(5, (c) => {
          c.string(1, cap, true);
          c.bool(2, meta.caps[cap]!, true);
        });
      }
    });
  });
  encodedEntries.set(meta, { digest, bytes });
  return bytes;
}

/** A Definition's own bytes. */
export const encodeDefinition: Encoder<LlbDefinition> = (d) => encodeWith((w) => writeDefinitionFields(w, d));

// ------------------------------------------------------------------ Control

/** moby.buildkit.v1.SolveRequest, as a build sends it. */
export interface ControlSolveRequest {
  Ref: string;
  Definition?: LlbDefinition;
  Exporter: string;
  ExporterAttrs: Record<string, string>;
  Session: string;
  Frontend: string;
  FrontendAttrs?: Record<string, string>;
  Entitlements: string[];
}

export const encodeControlSolveRequest: Encoder<ControlSolveRequest> = (q) =>
  encodeWith((w) => {
    w.string(1, q.Ref);
    if (q.Definition) writeDefinition(w, 2, q.Definition);
    w.string(3, q.Exporter);
    w.stringMap(4, q.ExporterAttrs);
    w.string(5, q.Session);
    w.string(6, q.Frontend);
    w.stringMap(7, q.FrontendAttrs ?? {});
    for (const e of q.Entitlements) w.string(9, e, true);
  });

export interface ControlSolveResponse {
  ExporterResponse: Record<string, string>;
}

export const decodeControlSolveResponse: Decoder<ControlSolveResponse> = (bytes) => {
  const out: ControlSolveResponse = { ExporterResponse: {} };
  readFields(bytes, (tag, r) => {
    if (tag !== 0x0a) return false;
    const [k, v] = r.entry(readString, '');
    out.ExporterResponse[k] = v;
    return true;
  });
  return out;
};

export const encodeStatusRequest: Encoder<{ Ref: string }> = (q) => encodeWith((w) => w.string(1, q.Ref));

export interface WorkerRecordFields {
  ID: string;
  Labels: Record<string, string>;
  platforms: PlatformFields[];
}

export const decodeListWorkersResponse: Decoder<{ record: WorkerRecordFields[] }> = (bytes) => {
  const record: WorkerRecordFields[] = [];
  readFields(bytes, (tag, r) => {
    if (tag !== 0x0a) return false;
    const rec: WorkerRecordFields = { ID: '', Labels: {}, platforms: [] };
    readFields(r.message(), (t, m) => {
      if (t === 0x0a) rec.ID = m.string();
      else if (t === 0x12) {
        const [k, v] = m.entry(readString, '');
        rec.Labels[k] = v;
      } else if (t === 0x1a) rec.platforms.push(readPlatform(m));
      else return false;
      return true;
    });
    record.push(rec);
    return true;
  });
  return { record };
};

// ------------------------------------------------------------------ Gateway

export interface ResolveImageConfigRequest {
  Ref: string;
  Platform?: PlatformFields;
  ResolveMode: string;
  LogName: string;
}

export const encodeResolveImageConfigRequest: Encoder<ResolveImageConfigRequest> = (q) =>
  encodeWith((w) => {
    w.string(1, q.Ref);
    if (q.Platform) writePlatform(w, 2, q.Platform);
    w.string(3, q.ResolveMode);
    w.string(4, q.LogName);
  });

export const decodeResolveImageConfigResponse: Decoder<{ Digest: string; Config: Uint8Array }> = (bytes) => {
  const out: { Digest: string; Config: Uint8Array } = { Digest: '', Config: EMPTY };
  readFields(bytes, (tag, r) => {
    if (tag === 0x0a) out.Digest = r.string();
    else if (tag === 0x12) out.Config = r.bytes();
    else return false;
    return true;
  });
  return out;
};

/** moby.buildkit.v1.frontend.SolveRequest, the fields a client frontend sets. */
export interface GatewaySolveRequest {
  Definition?: LlbDefinition;
  Frontend?: string;
  FrontendOpt?: Record<string, string>;
  allowResultReturn?: boolean;
  allowResultArrayRef?: boolean;
  Final?: boolean;
  Evaluate?: boolean;
}

export const encodeGatewaySolveRequest: Encoder<GatewaySolveRequest> = (q) =>
  encodeWith((w) => {
    if (q.Definition) writeDefinition(w, 1, q.Definition);
    w.string(2, q.Frontend ?? '');
    w.stringMap(3, q.FrontendOpt ?? {});
    w.bool(5, q.allowResultReturn ?? false);
    w.bool(6, q.allowResultArrayRef ?? false);
    w.bool(10, q.Final ?? false);
    w.bool(14, q.Evaluate ?? false);
  });

/** A frontend result: one ref (or a map of them, by platform) and metadata. */
export interface GatewayResult {
  refDeprecated?: string;
  ref?: string;
  refs?: Record<string, string>;
  metadata: Record<string, Uint8Array>;
}

function readRefId(r: ProtoReader): string {
  let id = '';
  readFields(r.message(), (tag, m) => {
    if (tag !== 0x0a) return false;
    id = m.string();
    return true;
  });
  return id;
}

function readResult(r: ProtoReader): GatewayResult {
  const out: GatewayResult = { metadata: {} };
  readFields(r.message(), (tag, m) => {
    // A oneof: the last member on the wire wins.
    if (tag === 0x0a) {
      Object.assign(out, { refDeprecated: m.string(), ref: undefined, refs: undefined });
    } else if (tag === 0x1a) {
      Object.assign(out, { refDeprecated: undefined, ref: readRefId(m), refs: undefined });
    } else if (tag === 0x22) {
      const refs: Record<string, string> = {};
      readFields(m.message(), (t, rm) => {
        if (t !== 0x0a) return false;
        const [k, v] = rm.entry(readRefId, '');
        refs[k] = v;
        return true;
      });
      Object.assign(out, { refDeprecated: undefined, ref: undefined, refs });
    } else if (tag === 0x52) {
      const [k, v] = m.entry(readBytes, EMPTY);
      out.metadata[k] = v;
    } else return false;
    return true;
  });
  for (const k of ['refDeprecated', 'ref', 'refs'] as const) if (out[k] === undefined) delete out[k];
  return out;
}

export const decodeGatewaySolveResponse: Decoder<{ ref: string; result?: GatewayResult }> = (bytes) => {
  const out: { ref: string; result?: GatewayResult } = { ref: '' };
  readFields(bytes, (tag, r) => {
    if (tag === 0x0a) out.ref = r.string();
    else if (tag === 0x1a) out.result = readResult(r);
    else return false;
    return true;
  });
  return out;
};

/** What a client frontend returns: a result with one ref, or an error (google.rpc.Status). */
export interface ReturnRequest {
  result?: { ref?: string; metadata: Record<string, Uint8Array> };
  error?: { code: number; message: string };
}

export const encodeReturnRequest: Encoder<ReturnRequest> = (q) =>
  encodeWith((w) => {
    const result = q.result;
    if (result) {
      w.message(1, (m) => {
        if (result.ref !== undefined) {
          const id = result.ref;
          m.message(3, (ref) => ref.string(1, id));
        }
        for (const k of Object.keys(result.metadata)) {
          m.message(10, (e) => {
            e.string(1, k, true);
            e.bytes(2, result.metadata[k]!, true);
          });
        }
      });
    }
    const error = q.error;
    if (error) {
      w.message(2, (m) => {
        m.int(1, error.code);
        m.string(2, error.message);
      });
    }
  });

export interface ReadFileRequest {
  Ref: string;
  FilePath: string;
  Range?: { Offset: bigint; Length: bigint };
}

export const encodeReadFileRequest: Encoder<ReadFileRequest> = (q) =>
  encodeWith((w) => {
    w.string(1, q.Ref);
    w.string(2, q.FilePath);
    const range = q.Range;
    if (range) {
      w.message(3, (m) => {
        m.int64(1, range.Offset);
        m.int64(2, range.Length);
      });
    }
  });

export const decodeReadFileResponse: Decoder<{ Data: Uint8Array }> = (bytes) => {
  let Data: Uint8Array = EMPTY;
  readFields(bytes, (tag, r) => {
    if (tag !== 0x0a) return false;
    Data = r.bytes();
    return true;
  });
  return { Data };
};

// ------------------------------------------------------------------ Session

/** grpc.health.v1.HealthCheckResponse status: SERVING. */
export const HEALTH_SERVING = 1;

export const decodeHealthCheckRequest: Decoder<{ service: string }> = (bytes) => {
  let service = '';
  readFields(bytes, (tag, r) => {
    if (tag !== 0x0a) return false;
    service = r.string();
    return true;
  });
  return { service };
};

export const encodeHealthCheckResponse: Encoder<{ status: number }> = (q) => encodeWith((w) => w.int(1, q.status));

export const decodeCredentialsRequest: Decoder<{ Host: string }> = (bytes) => {
  let Host = '';
  readFields(bytes, (tag, r) => {
    if (tag !== 0x0a) return false;
    Host = r.string();
    return true;
  });
  return { Host };
};

export const encodeCredentialsResponse: Encoder<{ Username?: string; Secret?: string }> = (q) =>
  encodeWith((w) => {
    w.string(1, q.Username ?? '');
    w.string(2, q.Secret ?? '');
  });

export const decodeGetSecretRequest: Decoder<{ ID: string; annotations: Record<string, string> }> = (bytes) => {
  const out = { ID: '', annotations: {} as Record<string, string> };
  readFields(bytes, (tag, r) => {
    if (tag === 0x0a) out.ID = r.string();
    else if (tag === 0x12) {
      const [k, v] = r.entry(readString, '');
      out.annotations[k] = v;
    } else return false;
    return true;
  });
  return out;
};

/** One bytes field (number 1) in a buffer of exactly its size: no other copy of the value is made. */
function singleBytesField(data: Uint8Array): Uint8Array {
  if (data.length === 0) return new Uint8Array(0);
  let lenBytes = 1;
  for (let n = data.length; n > 0x7f; n = Math.floor(n / 128)) lenBytes++;
  const out = new Uint8Array(1 + lenBytes + data.length);
  out[0] = 0x0a;
  let pos = 1;
  let n = data.length;
  while (n > 0x7f) {
    out[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  out.set(data, pos);
  return out;
}

/** GetSecretResponse { data }; the caller wipes the returned bytes once sent. */
export const encodeGetSecretResponse: Encoder<{ data: Uint8Array }> = (q) => singleBytesField(q.data);

/** moby.filesync.v1.BytesMessage */
export const encodeBytesMessage: Encoder<{ data: Uint8Array }> = (q) => singleBytesField(q.data);

export const decodeBytesMessage: Decoder<{ data: Uint8Array }> = (bytes) => {
  let data: Uint8Array = EMPTY;
  readFields(bytes, (tag, r) => {
    if (tag !== 0x0a) return false;
    const [s, e] = r.span();
    // A view, not a copy: these carry the session's own HTTP/2 bytes, and file contents.
    data = r.buf.subarray(s, e);
    return true;
  });
  return { data };
};

/** An fsutil packet (fsutil.types.Packet); `stat` is read without its xattrs. */
export interface FsPacket {
  type: number;
  ID: number;
  data: Uint8Array;
  stat?: StatFields;
}

function readStat(r: ProtoReader): StatFields {
  const st: StatFields = { path: '', mode: 0, uid: 0, gid: 0, size: 0n, modTime: 0n, linkname: '', devmajor: 0n, devminor: 0n };
  readFields(r.message(), (tag, m) => {
    switch (tag) {
      case 0x0a:
        st.path = m.string();
        break;
      case 0x10:
        st.mode = m.varint() >>> 0;
        break;
      case 0x18:
        st.uid = m.varint() >>> 0;
        break;
      case 0x20:
        st.gid = m.varint() >>> 0;
        break;
      case 0x28:
        st.size = m.varint64();
        break;
      case 0x30:
        st.modTime = m.varint64();
        break;
      case 0x3a:
        st.linkname = m.string();
        break;
      case 0x40:
        st.devmajor = m.varint64();
        break;
      case 0x48:
        st.devminor = m.varint64();
        break;
      default:
        return false;
    }
    return true;
  });
  return st;
}

export const decodeFsPacket: Decoder<FsPacket> = (bytes) => {
  const p: FsPacket = { type: 0, ID: 0, data: EMPTY };
  readFields(bytes, (tag, r) => {
    if (tag === 0x08) p.type = r.varint();
    else if (tag === 0x12) p.stat = readStat(r);
    else if (tag === 0x18) p.ID = r.varint();
    else if (tag === 0x22) p.data = r.bytes();
    else return false;
    return true;
  });
  return p;
};

/** A packet without a stat (REQ, FIN, ERR, DATA); STATs are written by ./filesync/wire.ts. */
export const encodeFsPacket: Encoder<FsPacket> = (p) =>
  encodeWith((w) => {
    w.int(1, p.type);
    w.int(3, p.ID);
    w.bytes(4, p.data);
  });
