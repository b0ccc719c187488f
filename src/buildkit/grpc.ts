// gRPC over node:http2, both directions: calls to BuildKit (unary,
// server-streaming, bidirectional; metadata, deadlines, cancellation, status
// codes as GrpcError) and a small server for the session BuildKit calls back.
//
// Why our own framing rather than @connectrpc/connect-node: the engine's
// gRPC endpoints are reached by hijacking an HTTP/1.1 connection (`/grpc`,
// `/session` upgrades) and, on `/session`, the engine is the HTTP/2 *client*
// while we serve. connect-node's transport dials (and re-dials) its own
// connections, and its server adapter expects an HTTP server it owns; neither
// rides a one-shot hijacked socket. A buildkitd session also runs HTTP/2
// inside a Control/Session stream. One ~300-line layer over node:http2
// serves all of these the same way and gives explicit backpressure for
// FileSync's large streams. Each call names how its messages are encoded and
// decoded (./messages.ts, or protobuf-es schemas through ./pb-codec.ts).
//
// Must never: log message bodies (they carry secret values on the session).
import http2 from 'node:http2';
import type { Decoder, Encoder } from './messages.js';

export enum GrpcStatus {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** A call that ended with a non-OK status. `details` is the server's message. */
export class GrpcError extends Error {
  constructor(
    readonly code: GrpcStatus,
    readonly details: string,
    readonly method = '',
  ) {
    super(`${method ? `${method}: ` : ''}${GrpcStatus[code] ?? code}: ${details}`);
    this.name = 'GrpcError';
  }
}

export type Metadata = Record<string, string | string[]>;

/** Frames one message: compressed flag 0, 4-byte big-endian length, bytes. */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.byteLength);
  out[0] = 0;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

/** Splits an HTTP/2 data stream into gRPC messages. */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;

  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.#buffered < 5) break;
      const head = this.#peek(5);
      if (head[0] !== 0) throw new GrpcError(GrpcStatus.UNIMPLEMENTED, 'compressed gRPC messages are not supported');
      const len = head.readUInt32BE(1);
      if (this.#buffered < 5 + len) break;
      const all = this.#take(5 + len);
      out.push(all.subarray(5));
    }
    return out;
  }

  get pending(): number {
    return this.#buffered;
  }

  #peek(n: number): Buffer {
    if (this.#chunks[0]!.length < n) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0]!.subarray(0, n);
  }

  #take(n: number): Buffer {
    if (this.#chunks[0]!.length < n) this.#chunks = [Buffer.concat(this.#chunks)];
    const first = this.#chunks[0]!;
    const out = first.subarray(0, n);
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#buffered -= n;
    return out;
  }
}

export interface CallOptions {
  metadata?: Metadata;
  signal?: AbortSignal;
  /** Milliseconds; sent as grpc-timeout and enforced locally. */
  timeoutMs?: number;
}

/** A bidirectional call: send requests (I), iterate responses (O). */
export interface Call<I, O> {
  send(message: I): Promise<void>;
  /** Sends raw, already-marshaled message bytes. */
  sendBytes(bytes: Uint8Array): Promise<void>;
  end(): void;
  responses: AsyncIterable<O>;
  cancel(): void;
}

/** A gRPC client over one HTTP/2 session. */
export class GrpcChannel {
  constructor(
    readonly session: http2.ClientHttp2Session,
    readonly authority = 'localhost',
  ) {}

  async unary<I, O>(path: string, encode: Encoder<I>, decode: Decoder<O>, request: I, options: CallOptions = {}): Promise<O> {
    const call = this.bidi(path, encode, decode, options);
    await call.send(request);
    call.end();
    let result: O | undefined;
    let received = false;
    for await (const msg of call.responses) {
      if (!received) result = msg;
      received = true;
    }
    if (!received) throw new GrpcError(GrpcStatus.INTERNAL, 'the server sent no response message', path);
    return result as O;
  }

  serverStream<I, O>(path: string, encode: Encoder<I>, decode: Decoder<O>, request: I, options: CallOptions = {}): AsyncIterable<O> & { cancel(): void } {
    const call = this.#call(path, encode, decode, options);
    const sent = call.send(request).then(() => call.end());
    sent.catch(() => undefined);
    return {
      cancel: () => call.cancel(),
      [Symbol.asyncIterator]: () => call.responses[Symbol.asyncIterator](),
    };
  }

  bidi<I, O>(path: string, encode: Encoder<I>, decode: Decoder<O>, options: CallOptions = {}): Call<I, O> {
    return this.#call(path, encode, decode, options);
  }

  #call<I, O>(path: string, encode: Encoder<I>, decode: Decoder<O>, options: CallOptions): Call<I, O> {
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': path,
      ':authority': this.authority,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': 'hangar-grpc/1',
    };
    for (const [k, v] of Object.entries(options.metadata ?? {})) headers[k.toLowerCase()] = v;
    if (options.timeoutMs !== undefined) headers['grpc-timeout'] = `${Math.max(1, Math.ceil(options.timeoutMs))}m`;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.session.request(headers, { endStream: false });
    } catch (err) {
      // The connection is gone (builder restarted, socket closed): one typed error.
      throw new GrpcError(GrpcStatus.UNAVAILABLE, `the connection to the builder is closed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, path);
    }
    let cancelled: GrpcError | undefined;
    const cancel = (why = new GrpcError(GrpcStatus.CANCELLED, 'the call was cancelled', path)): void => {
      if (cancelled) return;
      cancelled = why;
      // RST_STREAM(CANCEL): the server's context is cancelled at once.
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
    };
    const onAbort = (): void => cancel();
    if (options.signal) {
      if (options.signal.aborted) queueMicrotask(onAbort);
      else options.signal.addEventListener('abort', onAbort, { once: true });
    }
    const timer =
      options.timeoutMs !== undefined
        ? setTimeout(() => cancel(new GrpcError(GrpcStatus.DEADLINE_EXCEEDED, `no answer within ${options.timeoutMs} ms`, path)), options.timeoutMs)
        : undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };

    let status: { code: number; message: string } | undefined;
    const readStatus = (h: http2.IncomingHttpHeaders): void => {
      const code = h['grpc-status'];
      if (code !== undefined) status = { code: Number(code), message: decodeGrpcMessage(String(h['grpc-message'] ?? '')) };
    };
    let httpStatus = 200;
    stream.on('response', (h) => {
      httpStatus = Number(h[':status'] ?? 200);
      readStatus(h);
    });
    stream.on('trailers', readStatus);
    // Errors surface through the response iterator; this keeps an unread call from crashing the process.
    stream.on('error', () => undefined);

    const write = (bytes: Uint8Array): Promise<void> =>
      new Promise((resolve, reject) => {
        if (cancelled) return reject(cancelled);
        if (stream.destroyed || stream.closed) return reject(new GrpcError(GrpcStatus.UNAVAILABLE, 'the stream is closed', path));
        const ok = stream.write(frame(bytes), (err) => (err ? reject(err) : undefined));
        if (ok) resolve();
        else stream.once('drain', () => resolve());
      });

    async function* responses(): AsyncGenerator<O> {
      const decoder = new FrameDecoder();
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          for (const msg of decoder.push(chunk)) yield decode(msg);
        }
      } catch (err) {
        if (cancelled) throw cancelled;
        throw new GrpcError(GrpcStatus.UNAVAILABLE, `the connection failed: ${(err as Error).message}`, path);
      } finally {
        cleanup();
        if (!stream.destroyed && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      }
      if (cancelled) throw cancelled;
      if (!status) {
        if (httpStatus !== 200) throw new GrpcError(GrpcStatus.UNKNOWN, `HTTP status ${httpStatus}`, path);
        throw new GrpcError(GrpcStatus.UNAVAILABLE, 'the stream ended without a status', path);
      }
      if (status.code !== 0) throw new GrpcError(status.code, status.message, path);
    }

    return {
      send: (message) => write(encode(message)),
      sendBytes: write,
      end: () => {
        if (!stream.destroyed && !stream.writableEnded) stream.end();
      },
      responses: { [Symbol.asyncIterator]: () => responses() },
      cancel: () => cancel(),
    };
  }
}

function decodeGrpcMessage(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function encodeGrpcMessage(s: string): string {
  // Percent-encode everything outside printable ASCII, and '%' itself.
  return s.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) =>
    [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

// ------------------------------------------------------------------ server

/** The request side of a call the server is handling. */
export interface ServerCall {
  readonly metadata: http2.IncomingHttpHeaders;
  readonly signal: AbortSignal;
}

/** Messages a bidi handler receives, and a way to send back with backpressure. */
export interface ServerStream<I, O> extends ServerCall {
  requests: AsyncIterable<I>;
  send(message: O): Promise<void>;
  /** Sends an already-marshaled message. */
  sendBytes(bytes: Uint8Array): Promise<void>;
  /**
   * Sends a message already framed (5-byte gRPC prefix included), without
   * copying it; `written` is called once its bytes have been written out.
   */
  sendFramed(framed: Buffer, written?: () => void): Promise<void>;
}

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => Promise<void>;

/** Serves gRPC methods on HTTP/2 sessions it is given (see `serveOn`). */
export class GrpcServer {
  readonly #handlers = new Map<string, Handler>();
  readonly #http2 = http2.createServer({ settings: { initialWindowSize: 1 << 20 } });

  constructor() {
    this.#http2.on('stream', (stream, headers) => this.#dispatch(stream, headers));
    this.#http2.on('sessionError', () => undefined);
  }

  /** Method paths, e.g. `/grpc.health.v1.Health/Check`. */
  get methods(): string[] {
    return [...this.#handlers.keys()];
  }

  unary<I, O>(path: string, decode: Decoder<I>, encode: Encoder<O>, handler: (request: I, call: ServerCall) => Promise<O> | O): void {
    this.#handlers.set(path, async (stream, headers) => {
      const call = serverCall(stream, headers);
      const decoder = new FrameDecoder();
      let frame0: Uint8Array | undefined;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        for (const m of decoder.push(chunk)) frame0 ??= m;
      }
      const response = await handler(decode(frame0 ?? new Uint8Array(0)), call);
      const bytes = encode(response);
      const framed = frame(bytes);
      // Answers may carry secret values (GetSecret): zero our copies once sent.
      bytes.fill(0);
      await writeRaw(stream, framed, true);
    });
  }

  bidi<I, O>(path: string, decode: Decoder<I>, encode: Encoder<O>, handler: (call: ServerStream<I, O>) => Promise<void>): void {
    this.#handlers.set(path, async (stream, headers) => {
      const call = serverCall(stream, headers);
      async function* requests(): AsyncGenerator<I> {
        const decoder = new FrameDecoder();
        // A handler may stop reading early (FileSync stops at FIN); that must
        // not reset the stream, or the peer sees CANCEL instead of our status.
        for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
          for (const m of decoder.push(chunk)) yield decode(m);
        }
      }
      await handler({
        ...call,
        signal: call.signal,
        metadata: call.metadata,
        requests: { [Symbol.asyncIterator]: () => requests() },
        send: (message) => writeFrame(stream, encode(message)),
        sendBytes: (bytes) => writeFrame(stream, bytes),
        sendFramed: (framed, written) => writeRaw(stream, framed, false, written),
      });
    });
  }

  /** Serves on a socket (or any duplex) where the peer is the HTTP/2 client. */
  serveOn(socket: import('node:stream').Duplex): void {
    this.#http2.emit('connection', socket);
  }

  async #dispatch(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): Promise<void> {
    stream.on('error', () => undefined);
    const path = String(headers[':path'] ?? '');
    const handler = this.#handlers.get(path);
    const respond = (): void => {
      if (!stream.headersSent && !stream.destroyed) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      }
    };
    const finish = (code: GrpcStatus, message: string): void => {
      if (stream.destroyed || stream.closed) return;
      respond();
      stream.once('wantTrailers', () => {
        const trailers: http2.OutgoingHttpHeaders = { 'grpc-status': String(code) };
        if (message) trailers['grpc-message'] = encodeGrpcMessage(message);
        try {
          stream.sendTrailers(trailers);
        } catch {
          // The peer went away; nothing to tell it.
        }
      });
      stream.end();
    };
    if (!handler) return finish(GrpcStatus.UNIMPLEMENTED, `unknown method ${path}`);
    respond();
    try {
      await handler(stream, headers);
      finish(GrpcStatus.OK, '');
    } catch (err) {
      if (err instanceof GrpcError) finish(err.code, err.details);
      else finish(GrpcStatus.INTERNAL, err instanceof Error ? err.message : 'internal error');
    }
  }

  close(): void {
    this.#http2.close();
  }
}

function serverCall(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): ServerCall {
  const controller = new AbortController();
  stream.once('close', () => controller.abort());
  stream.once('aborted', () => controller.abort());
  return { metadata: headers, signal: controller.signal };
}

function writeFrame(stream: http2.ServerHttp2Stream, bytes: Uint8Array): Promise<void> {
  return writeRaw(stream, frame(bytes));
}

/** Bytes a server stream may have written but not yet handed to the socket. */
const MAX_IN_FLIGHT = 1 << 20;
// Each pending write also costs a callback and bookkeeping; count it so many tiny packets stay bounded too.
const WRITE_OVERHEAD = 512;
const inFlight = new WeakMap<http2.ServerHttp2Stream, { bytes: number; waiters: (() => void)[] }>();

// Waiting on write callbacks (not only 'drain') bounds memory by what the
// peer has actually accepted, however fast we read files. A write's callback
// runs once the socket has written its bytes (or the stream failed), so
// `framed` may be wiped or reused from then on.
function writeRaw(stream: http2.ServerHttp2Stream, framed: Buffer, wipeWhenWritten = false, written?: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed || stream.closed) return reject(new GrpcError(GrpcStatus.CANCELLED, 'the peer closed the stream'));
    let state = inFlight.get(stream);
    if (!state) {
      state = { bytes: 0, waiters: [] };
      inFlight.set(stream, state);
      const st = state;
      stream.once('close', () => st.waiters.splice(0).forEach((w) => w()));
    }
    const st = state;
    st.bytes += framed.length + WRITE_OVERHEAD;
    stream.write(framed, () => {
      if (wipeWhenWritten) framed.fill(0);
      written?.();
      st.bytes -= framed.length + WRITE_OVERHEAD;
      if (st.bytes <= MAX_IN_FLIGHT) st.waiters.splice(0).forEach((w) => w());
    });
    if (st.bytes <= MAX_IN_FLIGHT) return resolve();
    st.waiters.push(() => (stream.destroyed && st.bytes > MAX_IN_FLIGHT ? reject(new GrpcError(GrpcStatus.CANCELLED, 'the peer closed the stream')) : resolve()));
  });
}

/** Metadata values as a list (gRPC allows repeats; node joins some with ', '). */
export function metadataList(headers: http2.IncomingHttpHeaders, key: string): string[] {
  const v = headers[key];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}
