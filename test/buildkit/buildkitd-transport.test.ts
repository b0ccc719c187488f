// The buildkitd transports (`buildkit+unix://`, `buildkit+tcp://` with TLS)
// against a local gRPC server on loopback: no buildkitd runs on this
// machine, so this checks the connection plumbing (socket, TLS with client
// certificates) while the engine tests cover the BuildKit protocol itself.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBuilder } from '../../src/buildkit/index.js';
import { GrpcServer } from '../../src/buildkit/grpc.js';
import { ListWorkersRequestSchema, ListWorkersResponseSchema } from '../../src/buildkit/gen/buildkit/control/control_pb.js';
import { UserError } from '../../src/errors.js';
import { pbDecoder, pbEncoder } from '../../src/buildkit/pb-codec.js';

let dir: string;
const servers: { close(): void }[] = [];

function workerServer(): GrpcServer {
  const s = new GrpcServer();
  s.unary('/moby.buildkit.v1.Control/ListWorkers', pbDecoder(ListWorkersRequestSchema), pbEncoder(ListWorkersResponseSchema), () => ({
    record: [{ ID: 'local-test', Labels: { 'org.mobyproject.buildkit.worker.executor': 'oci' }, platforms: [{ OS: 'linux', Architecture: 'arm64', Variant: 'v8' }] }],
  }));
  servers.push(s);
  return s;
}

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hangar-bkd-'));
  writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=hangar-test-ca');
  for (const who of ['server', 'client']) {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`);
    openssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '1', '-extfile', 'ext.cnf');
  }
});

afterAll(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('buildkitd transports', () => {
  it('speaks gRPC over a unix socket', async () => {
    const sock = path.join(dir, 'buildkitd.sock');
    const grpc = workerServer();
    const listener = net.createServer((c) => grpc.serveOn(c));
    servers.push(listener);
    await new Promise<void>((r) => listener.listen(sock, r));
    const client = await connectBuilder(`buildkit+unix://${sock}`, {});
    try {
      expect(await client.listWorkers()).toEqual([
        { id: 'local-test', labels: { 'org.mobyproject.buildkit.worker.executor': 'oci' }, platforms: [{ os: 'linux', architecture: 'arm64', variant: 'v8' }] },
      ]);
    } finally {
      client.close();
    }
  });

  it('speaks gRPC over TCP with TLS and a client certificate', async () => {
    const grpc = workerServer();
    let clientCertSeen = '';
    const listener = tls.createServer(
      {
        key: readFileSync(path.join(dir, 'server.key')),
        cert: readFileSync(path.join(dir, 'server.pem')),
        ca: readFileSync(path.join(dir, 'ca.pem')),
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ['h2'],
      },
      (socket) => {
        clientCertSeen = String(socket.getPeerCertificate().subject?.CN ?? '');
        grpc.serveOn(socket);
      },
    );
    servers.push(listener);
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    const port = (listener.address() as net.AddressInfo).port;
    const files = { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'client.pem'), key: path.join(dir, 'client.key') };
    const client = await connectBuilder(`buildkit+tcp://127.0.0.1:${port}`, {}, files);
    try {
      expect((await client.listWorkers())[0]!.id).toBe('local-test');
      expect(clientCertSeen).toBe('client');
    } finally {
      client.close();
    }
    // A server the CA did not sign is refused with a sentence naming the endpoint.
    const wrongCa = await connectBuilder(`buildkit+tcp://127.0.0.1:${port}`, {}, { ca: path.join(dir, 'client.pem'), cert: files.cert, key: files.key }).catch((e: unknown) => e);
    expect(wrongCa).toBeInstanceOf(UserError);
    expect((wrongCa as Error).message).toMatch(new RegExp(`^cannot reach the builder at buildkit\\+tcp://127\\.0\\.0\\.1:${port} `));
    const missing = await connectBuilder(`buildkit+tcp://127.0.0.1:${port}`, {}, { ca: path.join(dir, 'nope.pem') }).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/cannot read --builder-tls-ca file .*nope\.pem \(ENOENT\); check the path\./);

    // NODE_EXTRA_CA_CERTS that bin/hangar kept from Node's start-up: the connection trusts it as Node would have.
    const deferred = Symbol.for('hangar.deferredExtraCaCerts');
    const clientOnly = { cert: files.cert, key: files.key };
    const g = globalThis as Record<symbol, unknown>;
    try {
      const untrusted = await connectBuilder(`buildkit+tcp://127.0.0.1:${port}`, {}, clientOnly).catch((e: unknown) => e);
      expect(untrusted).toBeInstanceOf(UserError);
      g[deferred] = path.join(dir, 'ca.pem');
      const viaExtra = await connectBuilder(`buildkit+tcp://127.0.0.1:${port}`, {}, clientOnly);
      try {
        expect((await viaExtra.listWorkers())[0]!.id).toBe('local-test');
      } finally {
        viaExtra.close();
      }
      // An unreadable file is what Node makes of one: a warning, and no extra roots.
      g[deferred] = path.join(dir, 'missing-extra.pem');
      const warnings: string[] = [];
      const onWarning = (w: Error): void => {
        warnings.push(w.message);
      };
      process.on('warning', onWarning);
      try {
        const noExtra = await connectBuilder(`buildkit+tcp://127.0.0.1:${port}`, {}, clientOnly).catch((e: unknown) => e);
        expect(noExtra).toBeInstanceOf(UserError);
        await new Promise((r) => setImmediate(r));
        expect(warnings.join('\n')).toMatch(/Ignoring extra certs from `.*missing-extra\.pem`, load failed: ENOENT/);
      } finally {
        process.off('warning', onWarning);
      }
    } finally {
      delete g[deferred];
    }
  });
});
