// A decoder for Control.Status responses (BuildKit's StatusResponse), the one
// message a build receives many of: hundreds on a many-stage build. Written
// by hand over the wire format because protobuf-es's reflective decoding of
// each one showed as a tenth of the client's CPU on a 30-stage build, time
// taken from the engine on a small machine. Field numbers are those of
// proto/buildkit/control/control.proto; a property test holds the result to
// fromBinary's. Fields it does not know are skipped.

export interface StatusVertex {
  digest: string;
  inputs: string[];
  name: string;
  cached: boolean;
  started?: Date;
  completed?: Date;
  error: string;
}

export interface StatusProgress {
  ID: string;
  vertex: string;
  name: string;
  current: number;
  total: number;
  timestamp?: Date;
  started?: Date;
  completed?: Date;
}

export interface StatusLog {
  vertex: string;
  timestamp?: Date;
  stream: number;
  msg: Uint8Array;
}

export interface StatusUpdate {
  vertexes: StatusVertex[];
  statuses: StatusProgress[];
  logs: StatusLog[];
}

const utf8 = new TextDecoder();

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  /** A varint as a number (exact up to 2^53; int64 counters stay far below). */
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
    return utf8.decode(this.buf.subarray(s, e));
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

/** A google.protobuf.Timestamp as a Date; an absent or zero one is undefined. */
function timestamp(r: Reader): Date | undefined {
  const [start, end] = r.span();
  const t = new Reader(r.buf, start, end);
  let seconds = 0;
  let nanos = 0;
  while (t.pos < end) {
    const tag = t.varint();
    if (tag === 0x08) seconds = t.varint();
    else if (tag === 0x10) nanos = t.varint();
    else t.skip(tag & 7);
  }
  return seconds === 0 && nanos === 0 ? undefined : new Date(seconds * 1000 + Math.round(nanos / 1_000_000));
}

function vertex(r: Reader): StatusVertex {
  const [start, end] = r.span();
  const m = new Reader(r.buf, start, end);
  const v: StatusVertex = { digest: '', inputs: [], name: '', cached: false, error: '' };
  while (m.pos < end) {
    const tag = m.varint();
    switch (tag) {
      case 0x0a:
        v.digest = m.string();
        break;
      case 0x12:
        v.inputs.push(m.string());
        break;
      case 0x1a:
        v.name = m.string();
        break;
      case 0x20:
        v.cached = m.varint() !== 0;
        break;
      case 0x2a:
        v.started = timestamp(m);
        break;
      case 0x32:
        v.completed = timestamp(m);
        break;
      case 0x3a:
        v.error = m.string();
        break;
      default:
        m.skip(tag & 7);
    }
  }
  return v;
}

function progress(r: Reader): StatusProgress {
  const [start, end] = r.span();
  const m = new Reader(r.buf, start, end);
  const s: StatusProgress = { ID: '', vertex: '', name: '', current: 0, total: 0 };
  while (m.pos < end) {
    const tag = m.varint();
    switch (tag) {
      case 0x0a:
        s.ID = m.string();
        break;
      case 0x12:
        s.vertex = m.string();
        break;
      case 0x1a:
        s.name = m.string();
        break;
      case 0x20:
        s.current = m.varint();
        break;
      case 0x28:
        s.total = m.varint();
        break;
      case 0x32:
        s.timestamp = timestamp(m);
        break;
      case 0x3a:
        s.started = timestamp(m);
        break;
      case 0x42:
        s.completed = timestamp(m);
        break;
      default:
        m.skip(tag & 7);
    }
  }
  return s;
}

function log(r: Reader): StatusLog {
  const [start, end] = r.span();
  const m = new Reader(r.buf, start, end);
  const l: StatusLog = { vertex: '', stream: 0, msg: new Uint8Array(0) };
  while (m.pos < end) {
    const tag = m.varint();
    switch (tag) {
      case 0x0a:
        l.vertex = m.string();
        break;
      case 0x12:
        l.timestamp = timestamp(m);
        break;
      case 0x18:
        l.stream = m.varint();
        break;
      case 0x22: {
        const [s, e] = m.span();
        l.msg = m.buf.slice(s, e);
        break;
      }
      default:
        m.skip(tag & 7);
    }
  }
  return l;
}

/** Decodes one StatusResponse message. Throws on malformed bytes. */
export function decodeStatusResponse(bytes: Uint8Array): StatusUpdate {
  const r = new Reader(bytes);
  const out: StatusUpdate = { vertexes: [], statuses: [], logs: [] };
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x0a) out.vertexes.push(vertex(r));
    else if (tag === 0x12) out.statuses.push(progress(r));
    else if (tag === 0x1a) out.logs.push(log(r));
    else r.skip(tag & 7);
  }
  return out;
}
