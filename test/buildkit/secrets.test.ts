import { inspect } from 'node:util';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SecretStore, SECRET_MAX_BYTES } from '../../src/buildkit/secrets.js';
import { SecretRedactor } from '../../src/buildkit/redact.js';
import { UserError } from '../../src/errors.js';

describe('SecretStore', () => {
  it('serves values, records fetches by digest and never the value', () => {
    const store = new SecretStore();
    store.set('token', 'hunter2-value');
    expect(store.lookup('token')?.toString()).toBe('hunter2-value');
    expect(store.lookup('nope')).toBeUndefined();
    const fetches = store.fetches();
    expect(fetches).toEqual([
      { id: 'token', found: true, digest: `sha256:${createHash('sha256').update('hunter2-value').digest('hex')}`, time: expect.any(Date) },
      { id: 'nope', found: false, time: expect.any(Date) },
    ]);
    expect(JSON.stringify(fetches)).not.toContain('hunter2');
  });

  it('zeroes every value when wiped', () => {
    const store = new SecretStore();
    store.set('a', Buffer.from('value-a'));
    const held = store.lookup('a')!;
    store.wipe();
    expect(held.every((b) => b === 0)).toBe(true);
    expect(store.lookup('a')).toBeUndefined();
    expect(() => store.set('b', 'x')).toThrow(UserError);
  });

  it('keeps its own copy of the caller buffer', () => {
    const mine = Buffer.from('copy-me');
    const store = new SecretStore();
    store.set('c', mine);
    mine.fill(0);
    expect(store.lookup('c')?.toString()).toBe('copy-me');
  });

  it('refuses values over 500 KiB and bad ids with messages that carry no value', () => {
    const store = new SecretStore();
    const big = Buffer.alloc(SECRET_MAX_BYTES + 1, 0x61);
    expect(() => store.set('big', big)).toThrow(/500 KiB/);
    store.set('edge', Buffer.alloc(SECRET_MAX_BYTES, 0x62));
    expect(() => store.set('bad id!', 'v')).toThrow(/not valid/);
    try {
      store.set('x'.repeat(200), 'the-value');
    } catch (err) {
      expect((err as Error).message).not.toContain('the-value');
    }
  });

  it('prints ids only', () => {
    const store = new SecretStore();
    store.set('db_password', 'pw-12345');
    expect(JSON.stringify({ store })).not.toContain('pw-12345');
    expect(inspect(store)).not.toContain('pw-12345');
    expect(inspect(store)).toContain('db_password');
  });
});

describe('SecretRedactor', () => {
  it('redacts raw and base64 forms', () => {
    const r = new SecretRedactor([Buffer.from('s3cret-token')]);
    const b64 = Buffer.from('s3cret-token').toString('base64');
    const out = r.push('k', Buffer.from(`a s3cret-token b ${b64} c\n`)).toString() + r.flush('k').toString();
    expect(out).toBe('a **** b **** c\n');
  });

  it('redacts a value split across chunks and releases a harmless held tail', () => {
    const r = new SecretRedactor([Buffer.from('abcdef')]);
    const a = r.push('k', Buffer.from('xx abc')).toString();
    expect(a).toBe('xx ');
    const b = r.push('k', Buffer.from('def yy abc')).toString();
    expect(b).toBe('**** yy ');
    expect(r.flush('k').toString()).toBe('abc');
  });

  it('never lets a whole value through, however the output is chunked', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 3, maxLength: 12 }).filter((s) => !s.includes('*')),
        fc.array(fc.string({ maxLength: 10 }), { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
        (secret, noise, cuts) => {
          const text = Buffer.from(noise.join(secret) + secret + Buffer.from(secret).toString('base64'));
          const r = new SecretRedactor([Buffer.from(secret)]);
          const parts: Buffer[] = [];
          let at = 0;
          let i = 0;
          while (at < text.length) {
            const n = cuts[i++ % cuts.length]!;
            parts.push(r.push('k', text.subarray(at, at + n)));
            at += n;
          }
          parts.push(r.flush('k'));
          const out = Buffer.concat(parts);
          expect(out.includes(Buffer.from(secret))).toBe(false);
          expect(out.includes(Buffer.from(Buffer.from(secret).toString('base64')))).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('forgets its copies of the values when wiped', () => {
    const r = new SecretRedactor([Buffer.from('wipe-me-now')]);
    expect(r.redactText('x wipe-me-now')).toBe('x ****');
    r.wipe();
    expect(r.empty).toBe(true);
    expect(r.redactText('x wipe-me-now')).toBe('x wipe-me-now');
  });
});
