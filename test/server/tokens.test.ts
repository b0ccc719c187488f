// Token checks in-process: unknown and wrong tokens take the same path and the
// same time; the failure limiter blocks and recovers per address.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuthFailureLimiter } from '../../src/server/rate-limit.js';
import { parseExpiry, TokenService } from '../../src/server/tokens.js';
import { Store } from '../../src/store/store.js';

describe('token checks', () => {
  it('spends the same time on an unknown token as on a near-miss of a real one', async () => {
    const store = await Store.open({ dialect: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'hangar-tok-')), 'h.db') });
    const tokens = new TokenService(store);
    const real = (await tokens.bootstrapAdmin())!;
    for (let i = 0; i < 50; i++) await tokens.create({ scope: 'read' }, { tokenId: null });
    const nearMiss = real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A');
    const unknown = `hgr_${'Z'.repeat(real.length - 4)}`;
    const time = async (t: string) => {
      const start = process.hrtime.bigint();
      expect(await tokens.authenticate(t)).toBeUndefined();
      return Number(process.hrtime.bigint() - start);
    };
    const a: number[] = [];
    const b: number[] = [];
    // Interleaved so that machine noise hits both alike.
    for (let i = 0; i < 1500; i++) {
      a.push(await time(nearMiss));
      b.push(await time(unknown));
    }
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1]!;
    const ratio = median(a) / median(b);
    expect(ratio).toBeGreaterThan(0.67);
    expect(ratio).toBeLessThan(1.5);
    await store.close();
  });

  it('parses expiries and refuses anything else', () => {
    expect(parseExpiry('24h')).toBe(86400);
    expect(parseExpiry('30d')).toBe(30 * 86400);
    expect(parseExpiry('90m')).toBe(5400);
    expect(parseExpiry('2w')).toBe(14 * 86400);
    for (const bad of ['', '0h', '24', 'h', '1y', '-1d', '99999999999d', '1.5h']) expect(() => parseExpiry(bad)).toThrow(/is invalid/);
  });

  it('blocks an address after its limit of failures and lets it in again after the window', () => {
    const limiter = new AuthFailureLimiter(3, 60_000);
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfter('10.0.0.1', t0 + i)).toBe(0);
      limiter.recordFailure('10.0.0.1', t0 + i);
    }
    expect(limiter.retryAfter('10.0.0.1', t0 + 10)).toBe(60);
    expect(limiter.retryAfter('10.0.0.2', t0 + 10)).toBe(0);
    expect(limiter.retryAfter('10.0.0.1', t0 + 59_000)).toBe(1);
    expect(limiter.retryAfter('10.0.0.1', t0 + 60_001)).toBe(0);
  });
});
