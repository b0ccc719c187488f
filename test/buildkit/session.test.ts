// The session's services as the builder calls them, over a loopback HTTP/2
// connection where the test plays the builder's side.
import http2 from 'node:http2';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildSession } from '../../src/buildkit/session.js';
import { SecretStore } from '../../src/buildkit/secrets.js';
import { GrpcChannel, GrpcError, GrpcStatus } from '../../src/buildkit/grpc.js';
import { HealthCheckRequestSchema, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus } from '../../src/buildkit/gen/grpc/health_pb.js';
import { GetSecretRequestSchema, GetSecretResponseSchema } from '../../src/buildkit/gen/buildkit/session/secrets_pb.js';
import { CredentialsRequestSchema, CredentialsResponseSchema } from '../../src/buildkit/gen/buildkit/session/auth_pb.js';
import { PacketSchema, Packet_PacketType as T } from '../../src/buildkit/gen/fsutil/wire_pb.js';
import { pbDecoder, pbEncoder } from '../../src/buildkit/pb-codec.js';

let dir: string;
let session: BuildSession;
let secrets: SecretStore;
let listener: net.Server;
let client: http2.ClientHttp2Session;
let channel: GrpcChannel;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hangar-session-unit-'));
  writeFileSync(path.join(dir, 'keep.txt'), 'k');
  writeFileSync(path.join(dir, 'drop.txt'), 'd');
  secrets = new SecretStore();
  secrets.set('api_key', 'value-of-api-key');
  session = new BuildSession({ secrets, localDirs: { context: { dir, excludePatterns: ['drop.txt'] } } });
  listener = net.createServer((c) => session.serve(c));
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  client = http2.connect(`http://127.0.0.1:${(listener.address() as net.AddressInfo).port}`);
  channel = new GrpcChannel(client);
});

afterAll(() => {
  client?.close();
  session?.close();
  listener?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('build session services', () => {
  it('announces the methods it serves', () => {
    expect(session.methods.sort()).toEqual([
      '/grpc.health.v1.Health/Check',
      '/moby.buildkit.secrets.v1.Secrets/GetSecret',
      '/moby.filesync.v1.Auth/Credentials',
      '/moby.filesync.v1.FileSync/DiffCopy',
    ]);
  });

  it('answers health checks with SERVING', async () => {
    const res = await channel.unary('/grpc.health.v1.Health/Check', pbEncoder(HealthCheckRequestSchema), pbDecoder(HealthCheckResponseSchema), {});
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it('answers registry auth with no credentials', async () => {
    const res = await channel.unary('/moby.filesync.v1.Auth/Credentials', pbEncoder(CredentialsRequestSchema), pbDecoder(CredentialsResponseSchema), { Host: 'registry.example' });
    expect(res.Username).toBe('');
    expect(res.Secret).toBe('');
  });

  it('serves known secrets and answers NotFound, without the value, for unknown ids', async () => {
    const ok = await channel.unary('/moby.buildkit.secrets.v1.Secrets/GetSecret', pbEncoder(GetSecretRequestSchema), pbDecoder(GetSecretResponseSchema), { ID: 'api_key' });
    expect(Buffer.from(ok.data).toString()).toBe('value-of-api-key');
    const err = (await channel.unary('/moby.buildkit.secrets.v1.Secrets/GetSecret', pbEncoder(GetSecretRequestSchema), pbDecoder(GetSecretResponseSchema), { ID: 'nope' }).catch((e: unknown) => e)) as GrpcError;
    expect(err.code).toBe(GrpcStatus.NOT_FOUND);
    expect(err.details).toBe('secret nope not found');
    expect(secrets.fetches().map((f) => [f.id, f.found])).toEqual([
      ['api_key', true],
      ['nope', false],
    ]);
  });

  it('syncs only directories given for the build, with their excludes', async () => {
    const unknown = channel.bidi('/moby.filesync.v1.FileSync/DiffCopy', pbEncoder(PacketSchema), pbDecoder(PacketSchema), { metadata: { 'dir-name': 'etc' } });
    unknown.end();
    const err = (await (async () => {
      for await (const _ of unknown.responses) void _;
    })().catch((e: unknown) => e)) as GrpcError;
    expect(err.code).toBe(GrpcStatus.NOT_FOUND);

    const call = channel.bidi('/moby.filesync.v1.FileSync/DiffCopy', pbEncoder(PacketSchema), pbDecoder(PacketSchema), { metadata: { 'dir-name': 'context' } });
    const paths: string[] = [];
    for await (const p of call.responses) {
      if (p.type === T.PACKET_STAT && p.stat) paths.push(p.stat.path);
      else if (p.type === T.PACKET_STAT) await call.send({ type: T.PACKET_FIN });
      else if (p.type === T.PACKET_FIN) call.end();
    }
    expect(paths).toEqual(['keep.txt']);
  });
});
