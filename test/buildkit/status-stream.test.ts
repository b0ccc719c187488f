// The small HTTP/2 client that reads Control.Status over its own connection:
// its frame reader on byte streams cut anywhere, and the whole call against
// node:http2's server, reached as a buildkitd (HTTP/2 on a plain socket) and
// as an engine (an HTTP/1.1 upgrade on /grpc first).
import http2 from 'node:http2';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { frame } from '../../src/buildkit/grpc.js';
import { H2FrameReader, frameOf, hpackLiterals, openServerStream, type StreamEnd } from '../../src/buildkit/status-stream.js';
import type { BuilderAddress } from '../../src/buildkit/transport.js';

const METHOD = '/moby.buildkit.v1.Control/Status';

describe('H2FrameReader', () => {
  /** A server's bytes: its settings, a ping, the response headers, then `messages` as DATA (some padded), then trailers. */
  function serverBytes(messages: Buffer[], splitEvery: number): Buffer {
    const grpc = Buffer.concat(messages.map((m) => frame(m)));
    const parts: Buffer[] = [
      frameOf(0x4, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100])),
      frameOf(0x6, 0, 0, Buffer.from('12345678')),
      frameOf(0x1, 0x4, 1, hpackLiterals([[':status', '200']])),
      frameOf(0x8, 0, 0, Buffer.from([0, 0, 1, 0])),
    ];
    for (let i = 0, n = 0; i < grpc.length; i += splitEvery, n++) {
      const piece = grpc.subarray(i, i + splitEvery);
      // Every other DATA frame is padded (a pad length byte, then zeros).
      parts.push(n % 2 ? frameOf(0x0, 0x8, 1, Buffer.concat([Buffer.of(3), piece, Buffer.alloc(3)])) : frameOf(0x0, 0, 1, piece));
    }
    parts.push(frameOf(0x1, 0x5, 1, hpackLiterals([['grpc-status', '0']])));
    return Buffer.concat(parts);
  }

  function read(bytes: Buffer, cuts: number[]): { data: Buffer; ends: StreamEnd[]; sent: Buffer[] } {
    const got: Buffer[] = [];
    const ends: StreamEnd[] = [];
    const sent: Buffer[] = [];
    const r = new H2FrameReader({ data: (p) => got.push(p), end: (h) => ends.push(h), send: (b) => sent.push(b) });
    let at = 0;
    for (const cut of [...cuts, bytes.length].sort((a, b) => a - b)) {
      // Each chunk is handed in a buffer that is scribbled over once push returns, as the socket's is.
      const chunk = Buffer.from(bytes.subarray(at, cut));
      r.push(chunk);
      chunk.fill(0xee);
      at = cut;
    }
    return { data: Buffer.concat(got), ends, sent };
  }

  it('gives the DATA payloads, ends once at END_STREAM, and acknowledges settings and pings, however the bytes are cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (msgs, splitEvery, rawCuts) => {
          const messages = msgs.map((m) => Buffer.from(m));
          const bytes = serverBytes(messages, splitEvery);
          const { data, ends, sent } = read(
            bytes,
            rawCuts.map((c) => c % bytes.length),
          );
          expect(data.equals(Buffer.concat(messages.map((m) => frame(m))))).toBe(true);
          expect(ends).toEqual([{ kind: 'ended' }]);
          expect(sent.map((b) => [b[3], b[4]])).toEqual([
            [0x4, 0x1],
            [0x6, 0x1],
          ]);
          expect(sent[1]!.subarray(9).toString()).toBe('12345678');
        },
      ),
    );
  });

  it('ends on RST_STREAM with its code, and on GOAWAY only when the server will not finish stream 1', () => {
    const settings = frameOf(0x4, 0, 0, Buffer.alloc(0));
    const rst = read(Buffer.concat([settings, frameOf(0x3, 0, 1, Buffer.from([0, 0, 0, 8]))]), []);
    expect(rst.ends).toEqual([{ kind: 'reset', code: 8 }]);
    const goawayAfter1 = read(Buffer.concat([settings, frameOf(0x7, 0, 0, Buffer.from([0, 0, 0, 1, 0, 0, 0, 0]))]), []);
    expect(goawayAfter1.ends).toEqual([]);
    const goawayBefore = read(Buffer.concat([settings, frameOf(0x7, 0, 0, Buffer.from([0, 0, 0, 0, 0, 0, 0, 2]))]), []);
    expect(goawayBefore.ends).toEqual([{ kind: 'reset', code: 2 }]);
  });

  it('refuses a peer that does not start with SETTINGS, and padding longer than the frame', () => {
    expect(() => read(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), [])).toThrow(/did not answer with HTTP\/2/);
    const bad = Buffer.concat([frameOf(0x4, 0, 0, Buffer.alloc(0)), frameOf(0x0, 0x8, 1, Buffer.from([9, 1, 2]))]);
    expect(() => read(bad, [])).toThrow(/padding/);
  });
});

describe('openServerStream', () => {
  let dir: string;
  let h2: http2.Http2Server;
  let listener: net.Server | undefined;
  /** What the test's handler does with each call. */
  let handler: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Promise<Buffer>) => void;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'hangar-status-stream-'));
    h2 = http2.createServer();
    h2.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      const body = new Promise<Buffer>((resolve) => {
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => resolve(Buffer.concat(chunks)));
      });
      stream.on('error', () => undefined);
      handler(stream, headers, body);
    });
  });
  afterEach(async () => {
    await new Promise<void>((r) => (listener ? listener.close(() => r()) : r()));
    listener = undefined;
  });
  afterAll(() => {
    h2.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Listens on a unix socket; `engine` answers an h2c upgrade on /grpc first, as dockerd does. */
  async function serve(kind: 'buildkitd' | 'engine', upgradeStatus = 101): Promise<BuilderAddress> {
    const socketPath = path.join(dir, `${kind}-${Math.random().toString(16).slice(2)}.sock`);
    listener = net.createServer((socket) => {
      if (kind === 'buildkitd') return h2.emit('connection', socket);
      let head = '';
      const onData = (c: Buffer): void => {
        head += c.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        expect(head.startsWith('POST /grpc HTTP/1.1\r\n')).toBe(true);
        expect(head).toContain('Upgrade: h2c');
        if (upgradeStatus !== 101) {
          socket.end(`HTTP/1.1 ${upgradeStatus} Not Found\r\nContent-Length: 0\r\n\r\n`);
          return;
        }
        socket.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
        h2.emit('connection', socket);
      };
      socket.on('data', onData);
    });
    await new Promise<void>((r) => listener!.listen(socketPath, r));
    return { kind, url: `${kind === 'engine' ? 'unix' : 'buildkit+unix'}://${socketPath}`, socketPath };
  }

  function respondWith(messages: Buffer[], trailers: Record<string, string> = { 'grpc-status': '0' }): void {
    handler = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers(trailers));
      for (const m of messages) stream.write(frame(m));
      stream.end();
    };
  }

  for (const kind of ['buildkitd', 'engine'] as const) {
    it(`calls the method with the request and hands over each message in order (${kind})`, async () => {
      const messages = Array.from({ length: 40 }, (_, i) => Buffer.from(`message ${i} `.repeat(i)));
      let seen: { headers: http2.IncomingHttpHeaders; body: Buffer } | undefined;
      respondWith(messages);
      const inner = handler;
      handler = (stream, headers, body) => {
        void body.then((b) => (seen = { headers, body: b }));
        inner(stream, headers, body);
      };
      const addr = await serve(kind);
      const got: string[] = [];
      const s = openServerStream(addr, METHOD, Buffer.from('the request'), (m) => got.push(m.toString()), { readEveryMs: 5 });
      expect(await s.done).toEqual({ kind: 'ended' });
      expect(got).toEqual(messages.map(String));
      expect(s.messages).toBe(40);
      expect(s.reads).toBeGreaterThan(0);
      expect(seen!.headers[':path']).toBe(METHOD);
      expect(seen!.headers[':method']).toBe('POST');
      expect(seen!.headers['content-type']).toBe('application/grpc');
      expect(seen!.headers.te).toBe('trailers');
      expect(seen!.body.equals(frame(Buffer.from('the request')))).toBe(true);
    });
  }

  it('ends, without an error, on a trailers-only answer and on a reset stream', async () => {
    handler = (stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5' }, { endStream: true });
    const addr = await serve('buildkitd');
    expect(await openServerStream(addr, METHOD, Buffer.alloc(0), () => undefined).done).toEqual({ kind: 'ended' });
    handler = (stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    expect(await openServerStream(addr, METHOD, Buffer.alloc(0), () => undefined).done).toEqual({ kind: 'reset', code: http2.constants.NGHTTP2_REFUSED_STREAM });
  });

  it('says why when the engine refuses the upgrade or nothing listens', async () => {
    const addr = await serve('engine', 404);
    const refused = await openServerStream(addr, METHOD, Buffer.alloc(0), () => undefined).done;
    expect(refused).toEqual({ kind: 'failed', reason: 'the engine answered HTTP/1.1 404 Not Found to the /grpc upgrade' });
    const none = await openServerStream({ kind: 'buildkitd', url: 'x', socketPath: path.join(dir, 'absent.sock') }, METHOD, Buffer.alloc(0), () => undefined).done;
    expect(none).toEqual({ kind: 'failed', reason: 'ENOENT' });
  });

  it('cancels the call on the server when the signal aborts', async () => {
    let closedWith: number | undefined;
    const closed = new Promise<void>((resolve) => {
      handler = (stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.write(frame(Buffer.from('first')));
        stream.on('close', () => {
          closedWith = stream.rstCode;
          resolve();
        });
      };
    });
    const addr = await serve('engine');
    const abort = new AbortController();
    const got: string[] = [];
    const s = openServerStream(addr, METHOD, Buffer.alloc(0), (m) => {
      got.push(m.toString());
      abort.abort();
    }, { signal: abort.signal });
    expect(await s.done).toEqual({ kind: 'cancelled' });
    await closed;
    expect(got).toEqual(['first']);
    expect(closedWith).toBe(http2.constants.NGHTTP2_CANCEL);
  });

  it('takes all that waits when it reads, not one buffer per interval', async () => {
    const big = Array.from({ length: 12 }, (_, i) => Buffer.alloc(15_000, 97 + i));
    let sendRest!: () => void;
    handler = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.write(frame(Buffer.from('first')));
      sendRest = () => {
        stream.write(Buffer.concat(big.map((m) => frame(m))));
        stream.end();
      };
    };
    const addr = await serve('buildkitd');
    const got: Buffer[] = [];
    let firstAt = 0;
    const s = openServerStream(
      addr,
      METHOD,
      Buffer.alloc(0),
      (m) => {
        got.push(m);
        if (got.length === 1) {
          firstAt = performance.now();
          // 180 KB, more than one 64 KiB read, lands in the kernel's buffer while the reader rests.
          sendRest();
        }
      },
      { readEveryMs: 1000 },
    );
    expect(await s.done).toEqual({ kind: 'ended' });
    // One wake-up after the first interval takes it all; a buffer per interval would need three.
    expect(performance.now() - firstAt).toBeLessThan(2500);
    expect(Buffer.concat(got.slice(1)).equals(Buffer.concat(big))).toBe(true);
  });

  it('reads at most every readEveryMs until hurried, then at once', async () => {
    let push!: (text: string) => void;
    let finish!: () => void;
    handler = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      push = (text) => stream.write(frame(Buffer.from(text)));
      finish = () => stream.end();
    };
    const addr = await serve('buildkitd');
    const got: string[] = [];
    let arrived!: () => void;
    let next = new Promise<void>((r) => (arrived = r));
    const s = openServerStream(addr, METHOD, Buffer.alloc(0), (m) => {
      got.push(m.toString());
      arrived();
    }, { readEveryMs: 60_000 });
    while (!push) await new Promise((r) => setTimeout(r, 5));
    push('one');
    await next;
    next = new Promise<void>((r) => (arrived = r));
    // The socket now rests for a minute: what the server sends waits in the kernel.
    push('two');
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual(['one']);
    s.hurry();
    await next;
    expect(got).toEqual(['one', 'two']);
    finish();
    expect(await s.done).toEqual({ kind: 'ended' });
  });
});
