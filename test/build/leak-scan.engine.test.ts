// The leak scan on real images from the engine: it finds values a build
// wrote into a layer (raw and base64) or into history, and nothing in clean images.
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { scanImage } from '../../src/build/leak-scan.js';
import { tempContext } from './support/context.js';

const run = promisify(execFile);
const TAG = 'hangar-test-leaky:latest';
const value = `leak-${randomBytes(12).toString('hex')}`;
const ctx = tempContext({
  Dockerfile: `FROM busybox\nARG TOKEN\nRUN echo "$TOKEN" | base64 > /b64 && mkdir -p /deep/er && echo "x$TOKEN" > /deep/er/raw\n`,
});

afterAll(async () => {
  ctx.cleanup();
  await run('/usr/bin/docker', ['image', 'rm', '-f', TAG]).catch(() => undefined);
});

describe('scanImage', () => {
  it('finds nothing in the base images', async () => {
    for (const image of ['busybox:latest', 'debian:bookworm-slim']) {
      const r = await scanImage(image, new Map([['K', value]]));
      expect(r.hits).toEqual([]);
      expect(r.layers).toBeGreaterThan(0);
    }
  });

  it('finds a value in a layer, raw and base64, and in history, naming places only', async () => {
    await run('/usr/bin/docker', ['build', '--network=host', '-q', '--build-arg', `TOKEN=${value}`, '-t', TAG, ctx.dir], {
      env: { ...process.env, DOCKER_BUILDKIT: '1' },
    });
    const r = await scanImage(TAG, new Map([['TOKEN', value]]));
    const where = new Set(r.hits.map((h) => h.where));
    expect(where.has('history')).toBe(true);
    expect([...where].some((w) => /^layer sha256:[0-9a-f]{64}$/.test(w))).toBe(true);
    expect(r.hits.map((h) => h.encoding)).toEqual(expect.arrayContaining(['raw', 'base64']));
    expect(JSON.stringify(r)).not.toContain(value);
  });

  it('says clearly when the image does not exist', async () => {
    await expect(scanImage('hangar-test/none:404', new Map([['K', value]]))).rejects.toThrow(/not in the engine's image store/);
  });
});
