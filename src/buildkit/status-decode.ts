// A decoder for Control.Status responses (BuildKit's StatusResponse), the one
// message a build receives many of: hundreds on a many-stage build. Written
// by hand over the wire format because protobuf-es's reflective decoding of
// each one showed as a tenth of the client's CPU on a 30-stage build, time
// taken from the engine on a small machine. Field numbers are those of
// proto/buildkit/control/control.proto; a property test holds the result to
// fromBinary's. Fields it does not know are skipped.

import { ProtoReader } from './protowire.js';

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

/** A google.protobuf.Timestamp as a Date; an absent or zero one is undefined. */
function timestamp(r: ProtoReader): Date | undefined {
  const t = r.message();
  let seconds = 0;
  let nanos = 0;
  while (!t.done) {
    const tag = t.varint();
    if (tag === 0x08) seconds = t.varint();
    else if (tag === 0x10) nanos = t.varint();
    else t.skip(tag & 7);
  }
  return seconds === 0 && nanos === 0 ? undefined : new Date(seconds * 1000 + Math.round(nanos / 1_000_000));
}

function vertex(r: ProtoReader): StatusVertex {
  const m = r.message();
  const v: StatusVertex = { digest: '', inputs: [], name: '', cached: false, error: '' };
  while (!m.done) {
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

function progress(r: ProtoReader): StatusProgress {
  const m = r.message();
  const s: StatusProgress = { ID: '', vertex: '', name: '', current: 0, total: 0 };
  while (!m.done) {
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

function log(r: ProtoReader): StatusLog {
  const m = r.message();
  const l: StatusLog = { vertex: '', stream: 0, msg: new Uint8Array(0) };
  while (!m.done) {
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
  const r = new ProtoReader(bytes);
  const out: StatusUpdate = { vertexes: [], statuses: [], logs: [] };
  while (!r.done) {
    const tag = r.varint();
    if (tag === 0x0a) out.vertexes.push(vertex(r));
    else if (tag === 0x12) out.statuses.push(progress(r));
    else if (tag === 0x1a) out.logs.push(log(r));
    else r.skip(tag & 7);
  }
  return out;
}
