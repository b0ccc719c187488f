// Hand-written encoders for fsutil's Packet and Stat messages (types/wire.proto,
// types/stat.proto), already framed for gRPC, and a batcher that coalesces
// many small framed packets into few HTTP/2 writes. A file listing is tens of
// thousands of STAT packets; building a protobuf-es message and calling
// toBinary for each one, then one stream write per packet, cost more than the
// walk itself. The bytes are the same as toBinary's (proto3: zero fields
// omitted, fields in number order); a property test holds them to it.
//
// Must never: reorder packets (fsutil numbers files by STAT order, and a
// file's DATA must end with its empty DATA), or buffer more than one batch
// beyond what the stream has accepted.

/** Packet.type values (fsutil types.Packet_PacketType). */
export const PacketType = { STAT: 0, REQ: 1, DATA: 2, FIN: 3, ERR: 4 } as const;

/** The Stat fields fsutil sends; same names and types as the generated Stat, without xattrs. */
export interface StatFields {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  modTime: bigint;
  linkname: string;
  devmajor: bigint;
  devminor: bigint;
}

function varintLength(n: number): number {
  // n is a uint32 here.
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  return 5;
}

function writeVarint(buf: Buffer, off: number, n: number): number {
  let v = n >>> 0;
  while (v >= 0x80) {
    buf[off++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[off++] = v;
  return off;
}

const TWO_32 = 0x1_0000_0000;

/** Splits an int64 into its two's-complement 32-bit halves. */
function int64Halves(v: bigint): [lo: number, hi: number] {
  if (v >= 0n && v <= 0x1f_ffff_ffff_ffffn) {
    const n = Number(v);
    return [n % TWO_32, Math.floor(n / TWO_32)];
  }
  const u = BigInt.asUintN(64, v);
  return [Number(u & 0xffff_ffffn), Number(u >> 32n)];
}

function varint64Length(lo: number, hi: number): number {
  if (hi === 0) return varintLength(lo);
  // 32 low bits take 4 full groups (28 bits) plus the rest with hi.
  const bits = 32 + (32 - Math.clz32(hi));
  return Math.ceil(bits / 7) || 1;
}

function writeVarint64(buf: Buffer, off: number, lo: number, hi: number): number {
  if (hi === 0) return writeVarint(buf, off, lo);
  for (let i = 0; i < 4; i++) {
    buf[off++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  // 4 bits of lo remain; join them with hi.
  const rest = lo | ((hi & 0x7) << 4);
  hi >>>= 3;
  if (hi === 0) {
    buf[off++] = rest;
    return off;
  }
  buf[off++] = rest | 0x80;
  while (hi >= 0x80) {
    buf[off++] = (hi & 0x7f) | 0x80;
    hi >>>= 7;
  }
  buf[off++] = hi;
  return off;
}

function int64FieldLength(v: bigint): number {
  if (v === 0n) return 0;
  const [lo, hi] = int64Halves(v);
  return 1 + varint64Length(lo, hi);
}

function writeInt64Field(buf: Buffer, off: number, tag: number, v: bigint): number {
  if (v === 0n) return off;
  const [lo, hi] = int64Halves(v);
  buf[off++] = tag;
  return writeVarint64(buf, off, lo, hi);
}

/**
 * A STAT packet (`stat` undefined: the empty STAT that ends the listing),
 * gRPC-framed: 5-byte prefix, then exactly toBinary(Packet{type: STAT, stat}).
 */
export function encodeStatPacket(stat: StatFields | undefined): Buffer {
  if (stat === undefined) return Buffer.from([0, 0, 0, 0, 0]);
  const pathLen = Buffer.byteLength(stat.path);
  const linkLen = stat.linkname === '' ? 0 : Buffer.byteLength(stat.linkname);
  let statLen = 0;
  if (pathLen > 0) statLen += 1 + varintLength(pathLen) + pathLen;
  if (stat.mode !== 0) statLen += 1 + varintLength(stat.mode);
  if (stat.uid !== 0) statLen += 1 + varintLength(stat.uid);
  if (stat.gid !== 0) statLen += 1 + varintLength(stat.gid);
  statLen += int64FieldLength(stat.size) + int64FieldLength(stat.modTime);
  if (linkLen > 0) statLen += 1 + varintLength(linkLen) + linkLen;
  statLen += int64FieldLength(stat.devmajor) + int64FieldLength(stat.devminor);
  // Packet: type STAT is the zero value (omitted); field 2 holds the Stat.
  const packetLen = 1 + varintLength(statLen) + statLen;
  const buf = Buffer.allocUnsafe(5 + packetLen);
  buf[0] = 0;
  buf.writeUInt32BE(packetLen, 1);
  let off = 5;
  buf[off++] = 0x12;
  off = writeVarint(buf, off, statLen);
  if (pathLen > 0) {
    buf[off++] = 0x0a;
    off = writeVarint(buf, off, pathLen);
    off += buf.write(stat.path, off, 'utf8');
  }
  if (stat.mode !== 0) {
    buf[off++] = 0x10;
    off = writeVarint(buf, off, stat.mode);
  }
  if (stat.uid !== 0) {
    buf[off++] = 0x18;
    off = writeVarint(buf, off, stat.uid);
  }
  if (stat.gid !== 0) {
    buf[off++] = 0x20;
    off = writeVarint(buf, off, stat.gid);
  }
  off = writeInt64Field(buf, off, 0x28, stat.size);
  off = writeInt64Field(buf, off, 0x30, stat.modTime);
  if (linkLen > 0) {
    buf[off++] = 0x3a;
    off = writeVarint(buf, off, linkLen);
    off += buf.write(stat.linkname, off, 'utf8');
  }
  off = writeInt64Field(buf, off, 0x40, stat.devmajor);
  writeInt64Field(buf, off, 0x48, stat.devminor);
  return buf;
}

/** A packet with only type (and data, for ERR), gRPC-framed. */
export function encodeControlPacket(type: number, data?: Uint8Array): Buffer {
  const dataLen = data?.length ?? 0;
  const packetLen = (type !== 0 ? 2 : 0) + (dataLen > 0 ? 1 + varintLength(dataLen) + dataLen : 0);
  const buf = Buffer.allocUnsafe(5 + packetLen);
  buf[0] = 0;
  buf.writeUInt32BE(packetLen, 1);
  let off = 5;
  if (type !== 0) {
    buf[off++] = 0x08;
    buf[off++] = type;
  }
  if (data && dataLen > 0) {
    buf[off++] = 0x22;
    off = writeVarint(buf, off, dataLen);
    buf.set(data, off);
  }
  return buf;
}

/**
 * A gRPC-framed DATA packet (field 1 type, 3 ID, 4 data) with room for
 * `dataLength` bytes at `dataOffset`: file bytes are read straight into it.
 */
export function framedDataPacket(id: number, dataLength: number): { frame: Buffer; dataOffset: number } {
  const headLen = 2 + (id !== 0 ? 1 + varintLength(id) : 0) + (dataLength > 0 ? 1 + varintLength(dataLength) : 0);
  const frame = Buffer.allocUnsafe(5 + headLen + dataLength);
  frame[0] = 0;
  frame.writeUInt32BE(headLen + dataLength, 1);
  let off = 5;
  frame[off++] = 0x08;
  frame[off++] = PacketType.DATA;
  if (id !== 0) {
    frame[off++] = 0x18;
    off = writeVarint(frame, off, id);
  }
  if (dataLength > 0) {
    frame[off++] = 0x22;
    off = writeVarint(frame, off, dataLength);
  }
  return { frame, dataOffset: off };
}

/** Where framed packets go: resolves once the stream can take more. */
export type FramedSink = (framed: Buffer) => Promise<void>;

/** A batch is cut at this size; a few STAT packets are ~60 bytes each. */
const BATCH_BYTES = 64 * 1024;
/** Frames at least this big are written as they are, not copied into a batch. */
const DIRECT_BYTES = 16 * 1024;

/**
 * Coalesces framed packets, in the order pushed, into writes of up to
 * BATCH_BYTES. A partial batch is written on the next turn of the event loop,
 * so a lone packet (a REQ's answer, the listing's end) is not held back.
 */
export class PacketBatcher {
  readonly #sink: FramedSink;
  #parts: Buffer[] = [];
  #bytes = 0;
  #tail: Promise<void> = Promise.resolve();
  #failure: unknown;
  #scheduled = false;

  constructor(sink: FramedSink) {
    this.#sink = sink;
  }

  /**
   * Queues one framed packet. Returns a promise only when the caller must
   * wait (a full batch or a large frame is on its way); undefined otherwise,
   * which spares a microtask per packet on a listing of many thousands.
   */
  push(framed: Buffer): Promise<void> | undefined {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (framed.length >= DIRECT_BYTES) {
      this.#cut();
      return this.#enqueue(framed);
    }
    this.#parts.push(framed);
    this.#bytes += framed.length;
    if (this.#bytes >= BATCH_BYTES) {
      // Also give the event loop a turn: the stream accepts a batch at once
      // while it is under its in-flight limit, but the bytes reach the socket
      // only when I/O runs. Without this a synchronous walk would hold the
      // whole listing back until it ends, and the builder would start late.
      const accepted = this.#enqueue(this.#take());
      return Promise.all([accepted, new Promise<void>((resolve) => setImmediate(resolve))]).then(() => undefined);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#cut();
      });
    }
    return undefined;
  }

  /** Writes whatever is queued and waits until the stream has accepted all of it. */
  flush(): Promise<void> {
    this.#cut();
    return this.#tail;
  }

  #cut(): void {
    if (this.#bytes > 0) this.#enqueue(this.#take()).catch(() => undefined);
  }

  #take(): Buffer {
    const parts = this.#parts;
    const out = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.#bytes);
    this.#parts = [];
    this.#bytes = 0;
    return out;
  }

  #enqueue(buf: Buffer): Promise<void> {
    const next = this.#tail.then(() => this.#sink(buf));
    this.#tail = next.catch((err: unknown) => {
      this.#failure ??= err;
      throw err;
    });
    this.#tail.catch(() => undefined);
    return next;
  }
}
