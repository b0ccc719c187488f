// The on-disk cache of base image configs: a file is read only when its
// SHA-256 is its name, and nothing about it can fail a build.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheImageConfig, imageConfigCacheDir, readCachedImageConfig } from '../../src/build/image-config-cache.js';

const root = mkdtempSync(join(tmpdir(), 'hangar-config-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const raw = Buffer.from('{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sh"]}}');
const id = `sha256:${createHash('sha256').update(raw).digest('hex')}`;

describe('image config cache', () => {
  it('lives under XDG_CACHE_HOME, or ~/.cache when it is unset or relative', () => {
    expect(imageConfigCacheDir({ XDG_CACHE_HOME: '/var/cache/u', HOME: '/home/u' })).toBe('/var/cache/u/hangar/image-configs');
    expect(imageConfigCacheDir({ XDG_CACHE_HOME: 'rel', HOME: '/home/u' })).toBe('/home/u/.cache/hangar/image-configs');
    expect(imageConfigCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/hangar/image-configs');
  });

  it('gives back a config under the digest of its bytes, and nothing under another', () => {
    const dir = join(root, 'a');
    expect(readCachedImageConfig(dir, id)).toBeUndefined();
    cacheImageConfig(dir, raw);
    expect(readCachedImageConfig(dir, id)).toEqual(JSON.parse(raw.toString()));
    expect(readCachedImageConfig(dir, `sha256:${'0'.repeat(64)}`)).toBeUndefined();
    expect(readCachedImageConfig(dir, 'busybox')).toBeUndefined();
    expect(readCachedImageConfig(dir, `sha256:../${id.slice(10)}`)).toBeUndefined();
    // No temporary file is left behind.
    expect(readdirSync(dir)).toEqual([`${id.slice(7)}.json`]);
  });

  it('ignores a file whose bytes are not what its name says, or that is not a JSON object', () => {
    const dir = join(root, 'b');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${id.slice(7)}.json`), Buffer.concat([raw, Buffer.from(' ')]));
    expect(readCachedImageConfig(dir, id)).toBeUndefined();
    for (const text of ['[1,2]', 'null', '{"a":', '"s"']) {
      const bytes = Buffer.from(text);
      const hex = createHash('sha256').update(bytes).digest('hex');
      writeFileSync(join(dir, `${hex}.json`), bytes);
      expect(readCachedImageConfig(dir, `sha256:${hex}`), text).toBeUndefined();
    }
  });

  it('does not fail when the directory cannot be written', () => {
    if (process.getuid?.() === 0) {
      // root writes through permissions; a path under a regular file cannot be created by anyone.
      const file = join(root, 'plain-file');
      writeFileSync(file, 'x');
      expect(() => cacheImageConfig(join(file, 'sub'), raw)).not.toThrow();
      expect(readCachedImageConfig(join(file, 'sub'), id)).toBeUndefined();
      return;
    }
    const dir = join(root, 'ro');
    mkdirSync(dir);
    chmodSync(dir, 0o500);
    expect(() => cacheImageConfig(dir, raw)).not.toThrow();
    expect(readCachedImageConfig(dir, id)).toBeUndefined();
  });
});
