// The protobuf wire format, the little of it Hangar's hand-written codecs
// need: a growable writer and a bounds-checked reader. Everything a build
// sends to or reads from the builder goes through these (./messages.ts,
// ./status-decode.ts, ../llb/op-wire.ts) instead of a reflective runtime,
// whose start-up (booting descriptors of every message) was a large part of
// the time before a build reached the builder.
//
// The writer writes what protobuf-es's toBinary writes for the same values:
// fields in the order the caller writes them (declaration order), proto3
// zero values left out unless asked, map entries with both key and value.

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Bytes kept for a nested message's length: up to 2^35 - 1, beyond any message a build sends (gRPC's own limit is 4 GiB). */
const MESSAGE_LENGTH_ROOM = 5;

/** How many bytes `v` (a non-negative integer) takes as a varint. */
function varintSize(v: number): number {
  let n = 1;
  while (v > 0x7f) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** A growable byte buffer with protobuf's field writes. */
export class ProtoWriter {
  #buf = new Uint8Array(256);
  #len = 0;

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /** A non-negative integer below 2^53. */
  varint(v: number): void {
    this.#room(10);
    this.#len = this.#varintAt(this.#len, v);
  }

  /** Writes `v` as a varint at `at` (the room is the caller's); returns where it ends. */
  #varintAt(at: number, v: number): number {
    while (v > 0x7f) {
      this.#buf[at++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.#buf[at++] = v;
    return at;
  }

  /** An unsigned 64-bit value as a varint. */
  #big(u: bigint): void {
    this.#room(10);
    while (u > 0x7fn) {
      this.#buf[this.#len++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.#buf[this.#len++] = Number(u);
  }

  /** An int64 field from a bigint (values beyond 2^53, such as nanosecond times); left out when zero. */
  int64(field: number, v: bigint): void {
    if (v === 0n) return;
    this.tag(field, 0);
    this.#big(BigInt.asUintN(64, v));
  }

  raw(bytes: Uint8Array): void {
    this.#room(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** An integer field (int32, int64, uint32, enum); left out when zero unless `always`. */
  int(field: number, v: number, always = false): void {
    if (v === 0 && !always) return;
    this.tag(field, 0);
    // A negative int32 or int64 is ten bytes of 64-bit two's complement.
    if (v < 0) this.#big(BigInt.asUintN(64, BigInt(v)));
    else this.varint(v);
  }

  /** A bool field; left out when false unless `always` (map values). */
  bool(field: number, v: boolean, always = false): void {
    if (!v && !always) return;
    this.tag(field, 0);
    this.varint(v ? 1 : 0);
  }

  /** A string field; left out when empty unless `always` (repeated elements, map keys and values). */
  string(field: number, s: string, always = false): void {
    if (s === '' && !always) return;
    this.tag(field, 2);
    // Most strings a build sends (digests, cap names, paths) are short ASCII: written as they are.
    const n = s.length;
    if (n < 0x80) {
      this.#room(n + 1);
      const buf = this.#buf;
      const at = this.#len + 1;
      let i = 0;
      while (i < n) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at + i++] = c;
      }
      if (i === n) {
        buf[at - 1] = n;
        this.#len = at + n;
        return;
      }
    }
    // Encoded in place after room for the longest length it could have
    // (3 bytes per UTF-16 unit), then moved up against its actual length.
    const most = s.length * 3;
    const room = varintSize(most);
    this.#room(room + most);
    const at = this.#len;
    const written = utf8Encoder.encodeInto(s, this.#buf.subarray(at + room, at + room + most)).written;
    this.#close(at, room, written);
  }

  /** A bytes field; left out when empty unless `always` (repeated elements, map values). */
  bytes(field: number, b: Uint8Array, always = false): void {
    if (b.length === 0 && !always) return;
    this.tag(field, 2);
    this.varint(b.length);
    this.raw(b);
  }

  /**
   * A message field, written even when empty (it is set). `build` writes the
   * body into this writer, after room for its length (no buffer of its own
   * per message, and no copy but a move of a few bytes).
   */
  message(field: number, build: (w: ProtoWriter) => void): void {
    this.tag(field, 2);
    this.#room(MESSAGE_LENGTH_ROOM);
    const at = this.#len;
    this.#len += MESSAGE_LENGTH_ROOM;
    build(this);
    this.#close(at, MESSAGE_LENGTH_ROOM, this.#len - at - MESSAGE_LENGTH_ROOM);
  }

  /**
   * Ends a length-delimited field whose `size` bytes were written `room`
   * bytes after `at`: writes the length at `at` and moves the bytes to
   * follow it.
   */
  #close(at: number, room: number, size: number): void {
    const n = varintSize(size);
    if (n > room) throw new RangeError(`a field of ${size} bytes is longer than its room for a length`);
    if (n < room) this.#buf.copyWithin(at + n, at + room, at + room + size);
    this.#len = this.#varintAt(at, size) + size;
  }

  /** A map<string, string> field, entries in the record's key order. */
  stringMap(field: number, map: Readonly<Record<string, string>>): void {
    for (const k of Object.keys(map)) {
      this.message(field, (e) => {
        e.string(1, k, true);
        e.string(2, map[k]!, true);
      });
    }
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** Reads fields of one message (or of a part of a buffer holding one). */
export class ProtoReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number (exact up to 2^53; the counters and enums read here stay far below). */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new Error('varint longer than 10 bytes');
  }

  /** A varint as a signed 64-bit integer (int64 fields: sizes, nanosecond times). */
  varint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, result);
      shift += 7n;
    }
    throw new Error('varint longer than 10 bytes');
  }

  /** The bounds of a length-delimited field's contents; the reader moves past it. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw new Error('length past the end of the message');
    this.pos = end;
    return [start, end];
  }

  string(): string {
    const [s, e] = this.span();
    return utf8Decoder.decode(this.buf.subarray(s, e));
  }

  /** A bytes field, copied out of the message. */
  bytes(): Uint8Array {
    const [s, e] = this.span();
    return this.buf.slice(s, e);
  }

  /** A reader over an embedded message. */
  message(): ProtoReader {
    const [s, e] = this.span();
    return new ProtoReader(this.buf, s, e);
  }

  /** One map<string, V> entry: its key and value (the value's default when absent). */
  entry<V>(value: (r: ProtoReader) => V, empty: V): [string, V] {
    const e = this.message();
    let k = '';
    let v = empty;
    while (!e.done) {
      const tag = e.varint();
      if (tag === 0x0a) k = e.string();
      else if (tag >>> 3 === 2) v = value(e);
      else e.skip(tag & 7);
    }
    return [k, v];
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.span();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new Error('field past the end of the message');
  }
}
