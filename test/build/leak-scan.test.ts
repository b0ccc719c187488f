// The leak scan finds secret values in every encoding and place they leak to,
// across chunk boundaries and in compressed layers, and never reveals a value.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64Forms, leakPatterns, scanArchive } from '../../src/build/leak-scan.js';
import { savedImage, tar } from './support/tar-writer.js';

const SECRET = 'hunter2-very-secret-value';
const secrets = new Map([['DB_PASSWORD', SECRET]]);

function chunked(buf: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

const cleanLayer = tar([{ path: 'etc/', type: 'dir' }, { path: 'etc/hostname', content: 'box\n' }]);

describe('base64Forms', () => {
  it('finds a value inside base64 text at every alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.uint8Array({ maxLength: 5 }), fc.uint8Array({ maxLength: 5 }), (value, before, after) => {
        const encoded = Buffer.concat([Buffer.from(before), Buffer.from(value), Buffer.from(after)]).toString('base64');
        const forms = base64Forms(Buffer.from(value));
        // Values shorter than 3 bytes may have no fully-owned character at some alignment.
        if (value.length >= 3) expect(forms.some((f) => encoded.includes(f))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('scanArchive', () => {
  it('reports nothing for an image without the values', async () => {
    const img = savedImage([cleanLayer], { config: { Env: ['A=b'] }, history: [{ created_by: 'RUN true' }] });
    const r = await scanArchive(chunked(img, 4096), secrets);
    expect(r.hits).toEqual([]);
    expect(r.layers).toBe(1);
  });

  for (const [encoding, encode] of [
    ['raw', (s: string) => s],
    ['base64', (s: string) => Buffer.from(`x${s}`).toString('base64')],
    ['base64', (s: string) => Buffer.from(`xy${s}`).toString('base64')],
    ['base64', (s: string) => Buffer.from(s).toString('base64')],
    ['hex', (s: string) => Buffer.from(s).toString('hex')],
    ['HEX', (s: string) => Buffer.from(s).toString('hex').toUpperCase()],
  ] as const) {
    it(`finds the ${encoding} form in a layer file and names the layer`, async () => {
      const leaky = tar([{ path: 'app/config', content: `token: ${encode(SECRET)}\n` }]);
      const img = savedImage([cleanLayer, leaky], { config: {}, history: [] });
      const r = await scanArchive(chunked(img, 7), secrets);
      expect(r.hits).toEqual([expect.objectContaining({ secret: 'DB_PASSWORD', encoding })]);
      expect(r.hits[0]!.where).toMatch(/^layer sha256:[0-9a-f]{64}$/);
    });
  }

  it('finds URL-encoded values', async () => {
    const value = 'p@ss word/&=?';
    const leaky = tar([{ path: 'url', content: `https://h/?p=${encodeURIComponent(value)}` }]);
    const r = await scanArchive(chunked(savedImage([leaky], {}), 100), new Map([['P', value]]));
    expect(r.hits.map((h) => h.encoding)).toContain('url');
  });

  it('tells history from config, with JSON escaping undone', async () => {
    const value = 'line1\n"quoted"';
    const img = savedImage([cleanLayer], {
      config: { Labels: { x: `v=${value}` } },
      history: [{ created_by: `RUN echo ${Buffer.from(value).toString('base64')}` }],
    });
    const r = await scanArchive(chunked(img, 64), new Map([['MULTI', value]]));
    expect(r.hits).toEqual(
      expect.arrayContaining([
        { secret: 'MULTI', encoding: 'raw', where: 'config' },
        { secret: 'MULTI', encoding: 'base64', where: 'history' },
      ]),
    );
  });

  it('scans gzip-compressed layers after inflating them', async () => {
    const leaky = gzipSync(tar([{ path: 'a-very-long-directory-name/'.repeat(5) + 'f', content: `x${SECRET}x` }]));
    const r = await scanArchive(chunked(savedImage([leaky], {}), 333), secrets);
    expect(r.hits.map((h) => h.secret)).toEqual(['DB_PASSWORD']);
  });

  it('finds a value split across every possible chunk boundary', async () => {
    const value = randomBytes(24);
    const leaky = tar([{ path: 'bin', content: Buffer.concat([randomBytes(1000), value, randomBytes(1000)]) }]);
    const img = savedImage([leaky], {});
    for (const size of [1, 5, 511, 512, 513, 4096]) {
      const r = await scanArchive(chunked(img, size), new Map([['K', value]]));
      expect(r.hits.filter((h) => h.encoding === 'raw')).toHaveLength(1);
    }
  });

  it('never puts a value in its result', async () => {
    const leaky = tar([{ path: 'f', content: `${SECRET} ${Buffer.from(SECRET).toString('base64')}` }]);
    const r = await scanArchive(chunked(savedImage([leaky], { history: [{ created_by: SECRET }] }), 50), secrets);
    expect(r.hits.length).toBeGreaterThan(0);
    const text = JSON.stringify(r);
    for (const p of leakPatterns(secrets)) expect(text).not.toContain(p.bytes.toString('latin1'));
  });

  it('ignores empty values and skips encoded forms too short to mean anything', () => {
    expect(leakPatterns(new Map([['E', '']]))).toEqual([]);
    const p = leakPatterns(new Map([['S', 'ab']]));
    expect(p.map((x) => x.encoding)).toEqual(['raw']);
  });
});
