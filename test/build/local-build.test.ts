// Pieces of a local build that need no builder: the # syntax rule, the secret
// outline check, and the key behind --secret-cache=digest.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSecrets, checkSyntaxDirective, secretCacheKey, secretDigest, staticBaseImages } from '../../src/build/local-build.js';
import { parseDockerfile } from '../../src/dockerfile/index.js';
import { tempContext } from './support/context.js';

const home = tempContext({});
afterAll(() => home.cleanup());

describe('checkSyntaxDirective', () => {
  it('serves docker/dockerfile:1 and 1.x itself and refuses other frontends', () => {
    for (const s of ['docker/dockerfile:1', 'docker/dockerfile:1.4', 'docker.io/docker/dockerfile:1.7-labs', 'docker/dockerfile']) {
      expect(() => checkSyntaxDirective(parseDockerfile(`# syntax=${s}\nFROM busybox\n`))).not.toThrow();
    }
    for (const s of ['docker/dockerfile:2', 'example.com/frontend:1', 'docker/dockerfile-upstream:master']) {
      expect(() => checkSyntaxDirective(parseDockerfile(`# syntax=${s}\nFROM busybox\n`))).toThrow(/Hangar does not run/);
    }
  });
});

describe('checkSecrets', () => {
  const df = parseDockerfile(
    'FROM busybox AS a\nRUN --mount=type=secret,id=A,required=true true\nFROM busybox AS b\nRUN --mount=type=secret,id=B true\nRUN --mount=type=secret,id=B,env=B true\n',
  );
  it('only looks at the stages the target needs', () => {
    expect(checkSecrets(df, [], 'b', {}).warnings).toEqual(['secret "B" used at Dockerfile:4 was not given; the step runs without it.']);
    expect(() => checkSecrets(df, [], 'a', {})).toThrow('Dockerfile:2 needs secret "A" (required=true)');
    expect(checkSecrets(df, ['A', 'X'], 'a', {}).warnings).toEqual(['secret "X" was given but no RUN step of this build mounts it.']);
  });
});

describe('staticBaseImages', () => {
  it('names the literal base images of the needed stages, and no stage, scratch or ARG-dependent base', () => {
    const df = parseDockerfile(
      'ARG BASE=alpine\nFROM busybox AS tools\nFROM ${BASE} AS varied\nFROM scratch AS empty\nFROM TOOLS AS again\nFROM example.com/unused:1 AS unused\nFROM debian:bookworm-slim\nCOPY --from=tools /bin/sh /x\n',
    );
    expect(staticBaseImages(df, undefined, {})).toEqual(['docker.io/library/busybox:latest', 'docker.io/library/debian:bookworm-slim']);
    expect(staticBaseImages(df, 'unused', {})).toEqual(['example.com/unused:1']);
    expect(staticBaseImages(df, 'no-such-stage', {})).toEqual([]);
  });
});

describe('secret cache digests', () => {
  it('keeps one private key per user and digests values with it', () => {
    const env = { XDG_CONFIG_HOME: home.dir };
    const k1 = secretCacheKey(env);
    const k2 = secretCacheKey(env);
    expect(k1.equals(k2)).toBe(true);
    expect(statSync(join(home.dir, 'hangar', 'secret-cache.key')).mode & 0o777).toBe(0o600);
    const d = secretDigest(k1, 'tok', Buffer.from('value'));
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(secretDigest(k1, 'tok', Buffer.from('value'))).toBe(d);
    expect(secretDigest(k1, 'tok', Buffer.from('other'))).not.toBe(d);
    expect(secretDigest(Buffer.alloc(32, 1), 'tok', Buffer.from('value'))).not.toBe(d);
  });
});
