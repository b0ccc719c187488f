// Control.Status, the one call of a build that receives hundreds of
// messages, read over a connection of its own by a small HTTP/2 client made
// for that single server-streaming call.
//
// Why not node:http2 here: for every DATA frame it runs nghttp2's callbacks,
// a call into JS, a Readable push and the tick queue. On a 30-stage build
// that was most of the CPU the client used while the engine worked, on a
// machine whose cores the engine needs. Here one read of the socket, however
// many frames it holds, is one call into JS with no stream in between; and
// while the build runs the socket is read at most every `readEveryMs`: the
// engine's messages wait in the kernel's buffer and are taken together, a
// delay nobody sees (docker's printers refresh every 100 ms or more).
//
// What it needs of HTTP/2 (RFC 9113): the connection preface; SETTINGS and
// their acknowledgement; PING acknowledgements; one request (a HEADERS frame
// of literal fields, which need no HPACK state, and one DATA frame); and,
// from the server, DATA, the end of the stream (END_STREAM on a HEADERS or
// DATA frame), RST_STREAM and GOAWAY. Response headers and trailers are not
// decoded (that would need HPACK's dynamic table and Huffman code): progress
// is best effort, and the solve's own result says whether the build worked.
// Flow control: both receive windows are opened to 2^31-1 at the start and
// topped up after each GiB read.
//
// Must never: write anything to the builder but the one request, the
// acknowledgements and window updates HTTP/2 asks for, and a goodbye; or keep
// a socket or timer alive after the stream has ended.
import net from 'node:net';
import { FrameDecoder, frame } from './grpc.js';
import { engineUpgradeRequest, readUpgradeAnswer, type BuilderAddress } from './transport.js';

/** How a stream ended. */
export type StreamEnd =
  | { kind: 'ended' } // END_STREAM from the server (its trailers, or a trailers-only answer)
  | { kind: 'reset'; code: number } // RST_STREAM, or GOAWAY before our stream
  | { kind: 'cancelled' } // the signal was aborted
  | { kind: 'failed'; reason: string }; // connection refused or lost, upgrade refused, malformed frames

export interface ServerStream {
  /** Settles (never rejects) when the stream has ended, however it ended. */
  readonly done: Promise<StreamEnd>;
  /** Reads as soon as data comes from now on (the build is over: show what is left now). */
  hurry(): void;
  /** Reads of the socket so far, and messages handed over. */
  readonly reads: number;
  readonly messages: number;
}

export interface ServerStreamOptions {
  signal?: AbortSignal;
  /** Read the socket at most this often (ms) until `hurry()`; 0 reads at once. */
  readEveryMs?: number;
  authority?: string;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const STREAM_ID = 1;
const MAX_WINDOW = 0x7fffffff;
const DEFAULT_WINDOW = 65535;
const TOP_UP_AFTER = 1 << 30;
const CANCEL = 0x8;

/**
 * Calls `path` (a server-streaming gRPC method) on the builder at `addr` over
 * a new connection (an engine's `/grpc` upgrade, or a buildkitd's plain
 * socket), sending `request` (marshaled), and hands each response message's
 * bytes to `onMessage` as they are read.
 */
export function openServerStream(
  addr: BuilderAddress,
  path: string,
  request: Uint8Array,
  onMessage: (message: Buffer) => void,
  options: ServerStreamOptions = {},
): ServerStream {
  let settle!: (end: StreamEnd) => void;
  const done = new Promise<StreamEnd>((resolve) => (settle = resolve));
  let ended = false;
  let hurried = !options.readEveryMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let upgrading = addr.kind === 'engine';
  let head = Buffer.alloc(0);

  // The first message is read at once (the connection's set-up is not held back).
  let delivered = 0;
  let reads = 0;
  const messages = new FrameDecoder();
  const frames = new H2FrameReader({
    data: (payload) => {
      for (const msg of messages.push(payload)) {
        delivered++;
        onMessage(msg);
      }
    },
    end: (how) => finish(how),
    send: (bytes) => socket.write(bytes),
  });

  const finish = (how: StreamEnd): void => {
    if (ended) return;
    ended = true;
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    if (!upgrading && how.kind !== 'failed' && socket.writable) {
      // Cancel our stream if it is still open, say goodbye, and close once that is written.
      const goaway = frameOf(GOAWAY, 0, 0, Buffer.alloc(8));
      socket.end(how.kind === 'cancelled' ? Buffer.concat([frameOf(RST_STREAM, 0, STREAM_ID, u32(CANCEL)), goaway]) : goaway, () => socket.destroy());
    } else {
      socket.destroy();
    }
    settle(how);
  };
  const onAbort = (): void => finish({ kind: 'cancelled' });

  const buffer = Buffer.allocUnsafe(64 * 1024);
  const onread = (n: number, buf: Buffer): boolean => {
    if (ended) return false;
    reads++;
    try {
      let chunk = buf.subarray(0, n);
      if (upgrading) {
        head = Buffer.concat([head, chunk]);
        const answer = readUpgradeAnswer(head);
        if (!answer) return true;
        if (answer.status !== 101) {
          finish({ kind: 'failed', reason: `the engine answered ${answer.statusLine} to the /grpc upgrade` });
          return false;
        }
        upgrading = false;
        chunk = answer.rest;
        head = Buffer.alloc(0);
        socket.write(requestBytes(path, request, options.authority ?? 'docker'));
      }
      frames.push(chunk);
    } catch (err) {
      finish({ kind: 'failed', reason: err instanceof Error ? err.message : String(err) });
      return false;
    }
    // A full buffer means more is waiting: take it now, then rest.
    if (ended || hurried || !delivered || n === buf.length) return true;
    // Leave what comes next in the kernel's buffer for a while, then take it all.
    timer = setTimeout(wake, options.readEveryMs);
    return false;
  };
  const wake = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (!ended) socket.resume();
  };

  const socket = addr.socketPath
    ? net.connect({ path: addr.socketPath, onread: { buffer, callback: onread } })
    : net.connect({ host: addr.host!, port: addr.port!, onread: { buffer, callback: onread } });
  socket.once('connect', () => {
    if (ended) return;
    if (upgrading) socket.write(engineUpgradeRequest('/grpc'));
    else socket.write(requestBytes(path, request, options.authority ?? 'localhost'));
  });
  socket.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'failed', reason: err.code ?? err.message }));
  socket.on('end', () => finish({ kind: 'failed', reason: 'the builder closed the connection before the stream ended' }));
  socket.on('close', () => finish({ kind: 'failed', reason: 'the connection closed before the stream ended' }));
  if (options.signal?.aborted) queueMicrotask(onAbort);
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  return {
    done,
    get reads() {
      return reads;
    },
    get messages() {
      return delivered;
    },
    hurry: () => {
      if (hurried) return;
      hurried = true;
      if (timer) wake();
    },
  };
}

/** The client's preface, settings, window and the one request: everything it ever sends but acknowledgements. */
function requestBytes(path: string, request: Uint8Array, authority: string): Buffer {
  const settings = Buffer.alloc(12);
  settings.writeUInt16BE(0x2, 0); // ENABLE_PUSH
  settings.writeUInt32BE(0, 2);
  settings.writeUInt16BE(0x4, 6); // INITIAL_WINDOW_SIZE
  settings.writeUInt32BE(MAX_WINDOW, 8);
  const fields = hpackLiterals([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', authority],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ['user-agent', 'hangar-grpc/1'],
  ]);
  return Buffer.concat([
    PREFACE,
    frameOf(SETTINGS, 0, 0, settings),
    frameOf(WINDOW_UPDATE, 0, 0, u32(MAX_WINDOW - DEFAULT_WINDOW)),
    frameOf(HEADERS, FLAG_END_HEADERS, STREAM_ID, fields),
    frameOf(DATA, FLAG_END_STREAM, STREAM_ID, frame(request)),
  ]);
}

/** HPACK "literal header field without indexing, new name", no Huffman coding: needs no shared state. */
export function hpackLiterals(fields: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'utf8');
    parts.push(Buffer.of(0), hpackInt(n.length), n, hpackInt(v.length), v);
  }
  return Buffer.concat(parts);
}

/** An HPACK integer with a 7-bit prefix (a string length, Huffman bit clear). */
function hpackInt(n: number): Buffer {
  if (n < 127) return Buffer.of(n);
  const out = [127];
  n -= 127;
  while (n >= 128) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

export function frameOf(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(stream & 0x7fffffff, 5);
  payload.copy(out, 9);
  return out;
}

/**
 * Splits the server's bytes into HTTP/2 frames and acts on those stream 1
 * and the connection need. Chunks may split frames anywhere; a chunk's
 * memory may be reused once `push` returns (what is kept is copied).
 */
export class H2FrameReader {
  #pending: Buffer | undefined;
  #received = 0;
  #prefaceSeen = false;
  #done = false;

  constructor(
    readonly on: {
      data(payload: Buffer): void;
      end(how: StreamEnd): void;
      send(bytes: Buffer): void;
    },
  ) {}

  push(chunk: Buffer): void {
    const buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = undefined;
    let at = 0;
    while (!this.#done && buf.length - at >= 9) {
      const length = buf.readUIntBE(at, 3);
      const type = buf[at + 3]!;
      const stream = buf.readUInt32BE(at + 5) & 0x7fffffff;
      // The server's preface is a SETTINGS frame; anything else is not HTTP/2.
      if (!this.#prefaceSeen && (type !== SETTINGS || stream !== 0)) throw new Error('the builder did not answer with HTTP/2');
      this.#prefaceSeen = true;
      if (buf.length - at < 9 + length) break;
      const flags = buf[at + 4]!;
      this.#frame(type, flags, stream, buf.subarray(at + 9, at + 9 + length));
      at += 9 + length;
    }
    // A partial frame outlives the chunk it came in: keep a copy.
    if (!this.#done && at < buf.length) this.#pending = Buffer.from(buf.subarray(at));
  }

  #frame(type: number, flags: number, stream: number, payload: Buffer): void {
    switch (type) {
      case DATA: {
        if (stream !== STREAM_ID) return;
        let data = payload;
        if (flags & FLAG_PADDED) {
          const pad = payload[0] ?? 0;
          if (pad >= payload.length) throw new Error('a DATA frame has more padding than bytes');
          data = payload.subarray(1, payload.length - pad);
        }
        this.#received += payload.length;
        if (this.#received >= TOP_UP_AFTER) {
          this.on.send(Buffer.concat([frameOf(WINDOW_UPDATE, 0, 0, u32(this.#received)), frameOf(WINDOW_UPDATE, 0, STREAM_ID, u32(this.#received))]));
          this.#received = 0;
        }
        if (data.length > 0) this.on.data(Buffer.from(data));
        if (flags & FLAG_END_STREAM) this.#end({ kind: 'ended' });
        return;
      }
      case HEADERS:
        if (stream === STREAM_ID && flags & FLAG_END_STREAM) this.#end({ kind: 'ended' });
        return;
      case RST_STREAM:
        if (stream === STREAM_ID) this.#end({ kind: 'reset', code: payload.length >= 4 ? payload.readUInt32BE(0) : 0 });
        return;
      case SETTINGS:
        if (!(flags & FLAG_ACK)) this.on.send(frameOf(SETTINGS, FLAG_ACK, 0, Buffer.alloc(0)));
        return;
      case PING:
        if (!(flags & FLAG_ACK)) this.on.send(frameOf(PING, FLAG_ACK, 0, Buffer.from(payload)));
        return;
      case GOAWAY: {
        // Streams up to the last id the server names still finish; ours is 1.
        const last = payload.length >= 4 ? payload.readUInt32BE(0) & 0x7fffffff : 0;
        if (last < STREAM_ID) this.#end({ kind: 'reset', code: payload.length >= 8 ? payload.readUInt32BE(4) : 0 });
        return;
      }
      default:
        // WINDOW_UPDATE, PRIORITY, CONTINUATION (header blocks are not read), unknown types.
        return;
    }
  }

  #end(how: StreamEnd): void {
    this.#done = true;
    this.on.end(how);
  }
}
