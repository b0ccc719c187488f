import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectBuilder } from '../../src/buildkit/index.js';
import { isLocalBuilder, parseBuilderUrl, resolveBuilderUrl, DEFAULT_BUILDER } from '../../src/buildkit/transport.js';
import { UserError } from '../../src/errors.js';

describe('builder URL', () => {
  it('prefers --builder, then HANGAR_BUILDER, then DOCKER_HOST, then the local socket', () => {
    const env = { HANGAR_BUILDER: 'buildkit+unix:///run/buildkit/buildkitd.sock', DOCKER_HOST: 'tcp://127.0.0.1:2375' };
    expect(resolveBuilderUrl('unix:///x.sock', env)).toBe('unix:///x.sock');
    expect(resolveBuilderUrl(undefined, env)).toBe(env.HANGAR_BUILDER);
    expect(resolveBuilderUrl(undefined, { DOCKER_HOST: env.DOCKER_HOST })).toBe(env.DOCKER_HOST);
    expect(resolveBuilderUrl(undefined, { HANGAR_BUILDER: '  ' })).toBe(DEFAULT_BUILDER);
    expect(resolveBuilderUrl(undefined, {})).toBe('unix:///var/run/docker.sock');
  });

  it('parses the four kinds of endpoint', () => {
    expect(parseBuilderUrl('unix:///var/run/docker.sock')).toMatchObject({ kind: 'engine', socketPath: '/var/run/docker.sock' });
    expect(parseBuilderUrl('tcp://127.0.0.1:2375')).toMatchObject({ kind: 'engine', host: '127.0.0.1', port: 2375 });
    expect(parseBuilderUrl('buildkit+unix:///run/buildkit/buildkitd.sock')).toMatchObject({ kind: 'buildkitd', socketPath: '/run/buildkit/buildkitd.sock' });
    expect(parseBuilderUrl('buildkit+tcp://[::1]:1234')).toMatchObject({ kind: 'buildkitd', host: '::1', port: 1234 });
  });

  it.each(['docker.sock', 'http://127.0.0.1:2375', 'tcp://127.0.0.1', 'tcp://127.0.0.1:99999', 'unix://relative.sock'])('rejects %s with one sentence', (url) => {
    expect(() => parseBuilderUrl(url)).toThrow(UserError);
    try {
      parseBuilderUrl(url);
    } catch (err) {
      expect((err as Error).message).toMatch(/^builder URL .*; use unix:\/\/\/path/);
    }
  });

  it('tells a builder on this machine (a socket or loopback) from one over the network', () => {
    for (const url of ['unix:///var/run/docker.sock', 'buildkit+unix:///run/buildkit/buildkitd.sock', 'tcp://127.0.0.1:2375', 'tcp://127.1.2.3:2375', 'buildkit+tcp://localhost:1234', 'tcp://[::1]:2375']) {
      expect(isLocalBuilder(parseBuilderUrl(url)), url).toBe(true);
    }
    for (const url of ['tcp://10.0.0.5:2375', 'buildkit+tcp://builder.example:1234', 'tcp://[2001:db8::1]:2375', 'tcp://127.example:2375']) {
      expect(isLocalBuilder(parseBuilderUrl(url)), url).toBe(false);
    }
  });

  it('names the endpoint and the fix when it cannot connect', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hangar-nosock-'));
    try {
      const url = `unix://${dir}/missing.sock`;
      const err = (await connectBuilder(url, {}).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(UserError);
      expect(err.message).toBe(`cannot reach the builder at ${url} (ENOENT); start the Docker Engine or point --builder / DOCKER_HOST at a running one.`);
      const bk = (await connectBuilder(`buildkit+unix://${dir}/missing.sock`, {}).catch((e: unknown) => e)) as Error;
      expect(bk.message).toMatch(/start buildkitd/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a TLS certificate without its key', async () => {
    const err = (await connectBuilder('buildkit+tcp://127.0.0.1:1', {}, { cert: '/nonexistent/cert.pem' }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/--builder-tls-cert and --builder-tls-key go together/);
  });
});
