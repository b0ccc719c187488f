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
export function int64Halves(v: bigint): [lo: number, hi: number] {
  if (v >= 0n && v <= 0x1f_ffff_ffff_ffffn) {
    const n = Number(v);
    return [n % TWO_32, Math.floor(n / TWO_32)];
  }
  const u = BigInt.asUintN(64, v);
  return [Number(u & 0xffff_ffffn), Number(u >> 32n)];
}

/** The int64 whose two's-complement 32-bit halves are `lo` and `hi` (int64Halves' inverse). */
export function int64Of(lo: number, hi: number): bigint {
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
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

function int64FieldLength(lo: number, hi: number): number {
  return lo === 0 && hi === 0 ? 0 : 1 + varint64Length(lo, hi);
}

function writeInt64Field(buf: Buffer, off: number, tag: number, lo: number, hi: number): number {
  if (lo === 0 && hi === 0) return off;
  buf[off++] = tag;
  return writeVarint64(buf, off, lo, hi);
}

/**
 * A STAT's fields as the walk fills them, int64s split into two's-complement
 * uint32 halves so that encoding does no BigInt work. The walk reuses one
 * object for every entry; `statPacketSize` fills the three lengths.
 */
export interface WireStat {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  sizeLo: number;
  sizeHi: number;
  mtimeLo: number;
  mtimeHi: number;
  linkname: string;
  devmajorLo: number;
  devmajorHi: number;
  devminorLo: number;
  devminorHi: number;
  pathBytes: number;
  linkBytes: number;
  statBytes: number;
}

export function newWireStat(): WireStat {
  return {
    path: '',
    mode: 0,
    uid: 0,
    gid: 0,
    sizeLo: 0,
    sizeHi: 0,
    mtimeLo: 0,
    mtimeHi: 0,
    linkname: '',
    devmajorLo: 0,
    devmajorHi: 0,
    devminorLo: 0,
    devminorHi: 0,
    pathBytes: 0,
    linkBytes: 0,
    statBytes: 0,
  };
}

/** Fills `w` from StatFields. */
export function toWireStat(stat: StatFields, w: WireStat = newWireStat()): WireStat {
  w.path = stat.path;
  w.mode = stat.mode;
  w.uid = stat.uid;
  w.gid = stat.gid;
  [w.sizeLo, w.sizeHi] = int64Halves(stat.size);
  [w.mtimeLo, w.mtimeHi] = int64Halves(stat.modTime);
  w.linkname = stat.linkname;
  [w.devmajorLo, w.devmajorHi] = int64Halves(stat.devmajor);
  [w.devminorLo, w.devminorHi] = int64Halves(stat.devminor);
  return w;
}

/** The framed size of `s`'s STAT packet; also records the lengths writeStatPacket needs. */
function statPacketSize(s: WireStat): number {
  const pathLen = s.path === '' ? 0 : Buffer.byteLength(s.path);
  const linkLen = s.linkname === '' ? 0 : Buffer.byteLength(s.linkname);
  let statLen = 0;
  if (pathLen > 0) statLen += 1 + varintLength(pathLen) + pathLen;
  if (s.mode !== 0) statLen += 1 + varintLength(s.mode);
  if (s.uid !== 0) statLen += 1 + varintLength(s.uid);
  if (s.gid !== 0) statLen += 1 + varintLength(s.gid);
  statLen += int64FieldLength(s.sizeLo, s.sizeHi) + int64FieldLength(s.mtimeLo, s.mtimeHi);
  if (linkLen > 0) statLen += 1 + varintLength(linkLen) + linkLen;
  statLen += int64FieldLength(s.devmajorLo, s.devmajorHi) + int64FieldLength(s.devminorLo, s.devminorHi);
  s.pathBytes = pathLen;
  s.linkBytes = linkLen;
  s.statBytes = statLen;
  // Packet: type STAT is the zero value (omitted); field 2 holds the Stat.
  return 5 + 1 + varintLength(statLen) + statLen;
}

/**
 * Writes `s`'s STAT packet, gRPC-framed (5-byte prefix, then exactly
 * toBinary(Packet{type: STAT, stat})), at `off`; statPacketSize(s) must have
 * been called. Returns the offset after it.
 */
function writeStatPacket(buf: Buffer, off: number, s: WireStat): number {
  const statLen = s.statBytes;
  buf[off] = 0;
  buf.writeUInt32BE(1 + varintLength(statLen) + statLen, off + 1);
  off += 5;
  buf[off++] = 0x12;
  off = writeVarint(buf, off, statLen);
  if (s.pathBytes > 0) {
    buf[off++] = 0x0a;
    off = writeVarint(buf, off, s.pathBytes);
    off += buf.write(s.path, off, s.pathBytes, 'utf8');
  }
  if (s.mode !== 0) {
    buf[off++] = 0x10;
    off = writeVarint(buf, off, s.mode);
  }
  if (s.uid !== 0) {
    buf[off++] = 0x18;
    off = writeVarint(buf, off, s.uid);
  }
  if (s.gid !== 0) {
    buf[off++] = 0x20;
    off = writeVarint(buf, off, s.gid);
  }
  off = writeInt64Field(buf, off, 0x28, s.sizeLo, s.sizeHi);
  off = writeInt64Field(buf, off, 0x30, s.mtimeLo, s.mtimeHi);
  if (s.linkBytes > 0) {
    buf[off++] = 0x3a;
    off = writeVarint(buf, off, s.linkBytes);
    off += buf.write(s.linkname, off, s.linkBytes, 'utf8');
  }
  off = writeInt64Field(buf, off, 0x40, s.devmajorLo, s.devmajorHi);
  return writeInt64Field(buf, off, 0x48, s.devminorLo, s.devminorHi);
}

const END_OF_LISTING = Buffer.from([0, 0, 0, 0, 0]);

/**
 * A STAT packet (`stat` undefined: the empty STAT that ends the listing),
 * gRPC-framed: 5-byte prefix, then exactly toBinary(Packet{type: STAT, stat}).
 */
export function encodeStatPacket(stat: StatFields | undefined): Buffer {
  if (stat === undefined) return Buffer.from(END_OF_LISTING);
  const w = toWireStat(stat);
  const buf = Buffer.allocUnsafe(statPacketSize(w));
  writeStatPacket(buf, 0, w);
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

function dataPacketHeadSize(id: number, dataLength: number): number {
  return 5 + 2 + (id !== 0 ? 1 + varintLength(id) : 0) + (dataLength > 0 ? 1 + varintLength(dataLength) : 0);
}

/** Writes a framed DATA packet's head (field 1 type, 3 ID, 4 data's tag and length) at `off`; returns where the data goes. */
function writeDataPacketHead(buf: Buffer, off: number, id: number, dataLength: number): number {
  buf[off] = 0;
  buf.writeUInt32BE(dataPacketHeadSize(id, dataLength) - 5 + dataLength, off + 1);
  off += 5;
  buf[off++] = 0x08;
  buf[off++] = PacketType.DATA;
  if (id !== 0) {
    buf[off++] = 0x18;
    off = writeVarint(buf, off, id);
  }
  if (dataLength > 0) {
    buf[off++] = 0x22;
    off = writeVarint(buf, off, dataLength);
  }
  return off;
}

/** The longest head of a DATA packet (frame prefix, type, a 64-bit id, data tag and length). */
const MAX_DATA_HEAD = 5 + 2 + 1 + 10 + 1 + 10;

/**
 * A gRPC-framed DATA packet (field 1 type, 3 ID, 4 data) with room for
 * `dataLength` bytes at `dataOffset`: file bytes are read straight into it.
 * The frame is made in `space` when given and big enough.
 */
export function framedDataPacket(id: number, dataLength: number, space?: Buffer): { frame: Buffer; dataOffset: number } {
  const size = dataPacketHeadSize(id, dataLength) + dataLength;
  const frame = space && space.length >= size ? space.subarray(0, size) : Buffer.allocUnsafe(size);
  return { frame, dataOffset: writeDataPacketHead(frame, 0, id, dataLength) };
}

/**
 * Where framed packets go: resolves once the stream can take more, and calls
 * `written` once the bytes have been written out (the buffer may be reused then).
 */
export type FramedSink = (framed: Buffer, written: () => void) => Promise<void>;

/**
 * Buffers of one size handed back once written, so sending a large context
 * reuses a few megabytes instead of allocating one buffer per chunk: Node
 * collects such buffers only after tens of megabytes of them pile up.
 */
export class BufferPool {
  readonly #free: Buffer[] = [];
  constructor(
    readonly size: number,
    readonly keep: number,
  ) {}

  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafe(this.size);
  }

  /** Returns a buffer that nothing reads or writes any more. */
  give(buf: Buffer): void {
    if (buf.length === this.size && this.#free.length < this.keep) this.#free.push(buf);
  }
}

/** Room for one DATA packet of `dataLength` bytes at most, for BufferPool. */
export function dataFrameSize(dataLength: number): number {
  return MAX_DATA_HEAD + dataLength;
}

const NOTHING = (): void => undefined;

/** A batch is cut at this size; a STAT packet is ~50 bytes. */
const BATCH_BYTES = 64 * 1024;
/** Frames at least this big are written as they are, not copied into a batch. */
const DIRECT_BYTES = 16 * 1024;
/** A batch buffer: a full batch plus the largest packet that is copied in. */
const BATCH_CAPACITY = BATCH_BYTES + DIRECT_BYTES;
/** A partial batch under this size is copied out, and its buffer kept for the next batch. */
const COPY_OUT_BYTES = 8 * 1024;

/**
 * Coalesces framed packets, in the order pushed, into writes of up to
 * BATCH_BYTES. Packets are written straight into the batch buffer (STATs are
 * encoded there, DATA copied once). A partial batch is written on the next
 * turn of the event loop, so a lone packet (a REQ's answer, the listing's
 * end) is not held back.
 */
export class PacketBatcher {
  readonly #sink: FramedSink;
  /** Batch buffers given away whole come back here once written. */
  readonly #batches = new BufferPool(BATCH_CAPACITY, 32);
  #buf: Buffer | undefined;
  #len = 0;
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
   * A large packet is written as it is and `written` called once it has
   * been; a small one is copied into the batch and `written` called at once.
   */
  push(framed: Buffer, written: () => void = NOTHING): Promise<void> | undefined {
    if (this.#failure !== undefined) {
      written();
      return Promise.reject(this.#failure);
    }
    if (framed.length >= DIRECT_BYTES) {
      this.#cut();
      return this.#enqueue(framed, written);
    }
    const buf = this.#room(framed.length);
    framed.copy(buf, this.#len);
    written();
    return this.#advance(framed.length);
  }

  /** Queues the STAT packet for `s`, encoded in place; waits as push() does. */
  pushStat(s: WireStat): Promise<void> | undefined {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const n = statPacketSize(s);
    const buf = this.#room(n);
    writeStatPacket(buf, this.#len, s);
    return this.#advance(n);
  }

  /** Queues a DATA packet with a copy of `data` (empty: the end of file `id`); waits as push() does. */
  pushData(id: number, data: Buffer): Promise<void> | undefined {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const n = dataPacketHeadSize(id, data.length) + data.length;
    const buf = this.#room(n);
    const dataOffset = writeDataPacketHead(buf, this.#len, id, data.length);
    data.copy(buf, dataOffset);
    return this.#advance(n);
  }

  /** Writes whatever is queued and waits until the stream has accepted all of it. */
  flush(): Promise<void> {
    this.#cut();
    return this.#tail;
  }

  #room(n: number): Buffer {
    if (this.#buf !== undefined && this.#len + n > this.#buf.length) this.#cut();
    this.#buf ??= n <= BATCH_CAPACITY ? this.#batches.take() : Buffer.allocUnsafe(n);
    return this.#buf;
  }

  #advance(n: number): Promise<void> | undefined {
    this.#len += n;
    if (this.#len >= BATCH_BYTES) {
      // Also give the event loop a turn: the stream accepts a batch at once
      // while it is under its in-flight limit, but the bytes reach the socket
      // only when I/O runs. Without this a synchronous walk would hold the
      // whole listing back until it ends, and the builder would start late.
      const accepted = this.#enqueue(...this.#take());
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

  #cut(): void {
    if (this.#len > 0) this.#enqueue(...this.#take()).catch(() => undefined);
  }

  /**
   * The queued bytes, handed over: a small partial batch is copied out so the
   * buffer is reused (a big buffer held for a few bytes each turn would let
   * memory grow with the stream's in-flight window), a larger one is given
   * away whole, back in the pool once written, and the next batch takes
   * another from the pool.
   */
  #take(): [Buffer, () => void] {
    const buf = this.#buf!;
    const len = this.#len;
    this.#len = 0;
    if (len < COPY_OUT_BYTES) return [Buffer.from(buf.subarray(0, len)), NOTHING];
    this.#buf = undefined;
    return [buf.subarray(0, len), () => this.#batches.give(buf)];
  }

  #enqueue(buf: Buffer, written: () => void): Promise<void> {
    const next = this.#tail.then(
      () => this.#sink(buf, written),
      (err: unknown) => {
        written();
        throw err;
      },
    );
    this.#tail = next.catch((err: unknown) => {
      this.#failure ??= err;
      throw err;
    });
    this.#tail.catch(() => undefined);
    return next;
  }
}
