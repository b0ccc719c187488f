// gRPC framing both ways over a real loopback HTTP/2 connection: our client
// against our server, the way the session and the Control API use them.
import http2 from 'node:http2';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameDecoder, frame, GrpcChannel, GrpcError, GrpcServer, GrpcStatus } from '../../src/buildkit/grpc.js';
import { HealthCheckRequestSchema, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus } from '../../src/buildkit/gen/grpc/health_pb.js';
import { GetSecretRequestSchema, GetSecretResponseSchema } from '../../src/buildkit/gen/buildkit/session/secrets_pb.js';
import { PacketSchema, Packet_PacketType as T } from '../../src/buildkit/gen/fsutil/wire_pb.js';
import { sendDirectory, DATA_CHUNK } from '../../src/buildkit/filesync/send.js';
import { metadataList } from '../../src/buildkit/grpc.js';
import { pbDecoder, pbEncoder } from '../../src/buildkit/pb-codec.js';

let server: GrpcServer;
let listener: net.Server;
let session: http2.ClientHttp2Session;
let channel: GrpcChannel;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hangar-grpc-'));
  writeFileSync(path.join(dir, 'small'), 'hello');
  writeFileSync(path.join(dir, 'big'), Buffer.alloc(DATA_CHUNK * 3 + 7, 0x5a));
  server = new GrpcServer();
  server.unary('/grpc.health.v1.Health/Check', pbDecoder(HealthCheckRequestSchema), pbEncoder(HealthCheckResponseSchema), () => ({ status: HealthCheckResponse_ServingStatus.SERVING }));
  server.unary('/moby.buildkit.secrets.v1.Secrets/GetSecret', pbDecoder(GetSecretRequestSchema), pbEncoder(GetSecretResponseSchema), async (req, call) => {
    if (req.ID === 'slow') await new Promise((r) => setTimeout(r, 2000));
    if (req.ID === 'echo-meta') return { data: Buffer.from(metadataList(call.metadata, 'x-test').join('|')) };
    if (req.ID !== 'known') throw new GrpcError(GrpcStatus.NOT_FOUND, `secret ${req.ID} not found — ünïcode`);
    return { data: Buffer.from('v') };
  });
  server.bidi('/moby.filesync.v1.FileSync/DiffCopy', pbDecoder(PacketSchema), pbEncoder(PacketSchema), async (call) => {
    await sendDirectory(dir, { packets: call.requests, sendFramed: (f) => call.sendFramed(f) }, {});
  });
  listener = net.createServer((socket) => server.serveOn(socket));
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const port = (listener.address() as net.AddressInfo).port;
  session = http2.connect(`http://127.0.0.1:${port}`);
  channel = new GrpcChannel(session);
});

afterAll(() => {
  session?.close();
  server?.close();
  listener?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('gRPC over node:http2', () => {
  it('frames and unframes messages across arbitrary chunk boundaries', () => {
    const msgs = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(70_000, 1)];
    const wire = Buffer.concat(msgs.map((m) => frame(m)));
    const d = new FrameDecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < wire.length; i += 333) out.push(...d.push(wire.subarray(i, i + 333)));
    expect(out.map((b) => b.length)).toEqual([1, 0, 70_000]);
    expect(d.pending).toBe(0);
  });

  it('makes unary calls with metadata', async () => {
    const res = await channel.unary('/grpc.health.v1.Health/Check', pbEncoder(HealthCheckRequestSchema), pbDecoder(HealthCheckResponseSchema), {});
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const meta = await channel.unary('/moby.buildkit.secrets.v1.Secrets/GetSecret', pbEncoder(GetSecretRequestSchema), pbDecoder(GetSecretResponseSchema), { ID: 'echo-meta' }, { metadata: { 'x-test': 'one' } });
    expect(Buffer.from(meta.data).toString()).toBe('one');
  });

  it('maps status codes and messages to GrpcError', async () => {
    const err = await channel.unary('/moby.buildkit.secrets.v1.Secrets/GetSecret', pbEncoder(GetSecretRequestSchema), pbDecoder(GetSecretResponseSchema), { ID: 'missing' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrpcError);
    expect((err as GrpcError).code).toBe(GrpcStatus.NOT_FOUND);
    expect((err as GrpcError).details).toBe('secret missing not found — ünïcode');
    const unknown = await channel.unary('/no.Such/Method', pbEncoder(HealthCheckRequestSchema), pbDecoder(HealthCheckResponseSchema), {}).catch((e: unknown) => e);
    expect((unknown as GrpcError).code).toBe(GrpcStatus.UNIMPLEMENTED);
  });

  it('enforces deadlines and cancellation', async () => {
    const slow = () => channel.unary('/moby.buildkit.secrets.v1.Secrets/GetSecret', pbEncoder(GetSecretRequestSchema), pbDecoder(GetSecretResponseSchema), { ID: 'slow' }, { timeoutMs: 100 });
    expect(((await slow().catch((e: unknown) => e)) as GrpcError).code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    const ac = new AbortController();
    const p = channel.unary('/moby.buildkit.secrets.v1.Secrets/GetSecret', pbEncoder(GetSecretRequestSchema), pbDecoder(GetSecretResponseSchema), { ID: 'slow' }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    expect(((await p.catch((e: unknown) => e)) as GrpcError).code).toBe(GrpcStatus.CANCELLED);
    // The connection is still usable afterwards.
    await channel.unary('/grpc.health.v1.Health/Check', pbEncoder(HealthCheckRequestSchema), pbDecoder(HealthCheckResponseSchema), {});
  });

  it('runs the DiffCopy packet protocol: STATs, REQ → DATA chunks, FIN → FIN', async () => {
    const call = channel.bidi('/moby.filesync.v1.FileSync/DiffCopy', pbEncoder(PacketSchema), pbDecoder(PacketSchema));
    const it = call.responses[Symbol.asyncIterator]();
    const stats: string[] = [];
    for (;;) {
      const p = (await it.next()).value!;
      expect(p.type).toBe(T.PACKET_STAT);
      if (!p.stat) break;
      stats.push(p.stat.path);
    }
    expect(stats).toEqual(['big', 'small']);
    await call.send({ type: T.PACKET_REQ, ID: 0 });
    await call.send({ type: T.PACKET_REQ, ID: 1 });
    const received = new Map<number, Buffer[]>();
    let ended = 0;
    while (ended < 2) {
      const p = (await it.next()).value!;
      expect(p.type).toBe(T.PACKET_DATA);
      expect(p.data.length).toBeLessThanOrEqual(DATA_CHUNK);
      if (p.data.length === 0) ended++;
      else received.set(p.ID, [...(received.get(p.ID) ?? []), Buffer.from(p.data)]);
    }
    expect(Buffer.concat(received.get(0)!).length).toBe(DATA_CHUNK * 3 + 7);
    expect(Buffer.concat(received.get(1)!).toString()).toBe('hello');
    await call.sendBytes(toBinary(PacketSchema, create(PacketSchema, { type: T.PACKET_FIN })));
    const fin = (await it.next()).value!;
    expect(fin.type).toBe(T.PACKET_FIN);
    call.end();
    expect((await it.next()).done).toBe(true);
  });

  it('fails calls on a closed connection with UNAVAILABLE', async () => {
    const port = (listener.address() as net.AddressInfo).port;
    const other = http2.connect(`http://127.0.0.1:${port}`);
    await new Promise((r) => other.once('connect', r));
    other.destroy();
    const err = await new GrpcChannel(other).unary('/grpc.health.v1.Health/Check', pbEncoder(HealthCheckRequestSchema), pbDecoder(HealthCheckResponseSchema), {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrpcError);
    expect((err as GrpcError).code).toBe(GrpcStatus.UNAVAILABLE);
  });
});
