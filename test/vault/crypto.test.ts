import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  appKeyAad,
  masterKeyId,
  newKey,
  open,
  seal,
  secretAad,
  secretDigest,
  unwrapAppKey,
  VaultIntegrityError,
  wrapAppKey,
} from '../../src/vault/crypto.js';

describe('vault crypto', () => {
  it('round-trips any bytes, including non-UTF-8 and empty values', () => {
    const key = newKey();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.string(), (bytes, name) => {
        const value = Buffer.from(bytes);
        const aad = secretAad('app-1', name, 3);
        expect(open(key, seal(key, value, aad), aad).equals(value)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('never leaves the plaintext in the sealed bytes', () => {
    const key = newKey();
    const value = Buffer.from('correct horse battery staple');
    const sealed = seal(key, value, secretAad('a', 'N', 1));
    expect(sealed.includes(value)).toBe(false);
    expect(sealed.length).toBe(1 + 12 + 16 + value.length);
  });

  it('refuses a ciphertext moved to another app, name or version (AAD binding)', () => {
    const key = newKey();
    const sealed = seal(key, Buffer.from('v'), secretAad('app-1', 'DB_URL', 1));
    expect(() => open(key, sealed, secretAad('app-2', 'DB_URL', 1))).toThrow(VaultIntegrityError);
    expect(() => open(key, sealed, secretAad('app-1', 'API_KEY', 1))).toThrow(VaultIntegrityError);
    expect(() => open(key, sealed, secretAad('app-1', 'DB_URL', 2))).toThrow(VaultIntegrityError);
    // Length-prefixed parts: shifting characters between fields is a different AAD.
    expect(secretAad('ab', 'c', 1).equals(secretAad('a', 'bc', 1))).toBe(false);
  });

  it('fails on any flipped bit or wrong key, and never falls back to returning ciphertext', () => {
    const key = newKey();
    const aad = secretAad('a', 'N', 1);
    const sealed = seal(key, Buffer.from('payload'), aad);
    for (let i = 0; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 0x01;
      expect(() => open(key, bad, aad)).toThrow(VaultIntegrityError);
    }
    expect(() => open(newKey(), sealed, aad)).toThrow(VaultIntegrityError);
    expect(() => open(key, sealed.subarray(0, 10), aad)).toThrow(VaultIntegrityError);
  });

  it('wraps app keys bound to the app and purpose', () => {
    const master = newKey();
    const dataKey = newKey();
    const wrapped = wrapAppKey(master, 'app-1', 'data', dataKey);
    expect(unwrapAppKey(master, 'app-1', 'data', wrapped).equals(dataKey)).toBe(true);
    expect(() => unwrapAppKey(master, 'app-2', 'data', wrapped)).toThrow(VaultIntegrityError);
    expect(() => unwrapAppKey(master, 'app-1', 'digest', wrapped)).toThrow(VaultIntegrityError);
    expect(() => unwrapAppKey(newKey(), 'app-1', 'data', wrapped)).toThrow(VaultIntegrityError);
    expect(appKeyAad('a', 'data').equals(appKeyAad('a', 'digest'))).toBe(false);
  });

  it('digests are keyed: stable under one key, different under another, never the plain hash', () => {
    const k1 = newKey();
    const k2 = newKey();
    const v = Buffer.from('hunter2');
    expect(secretDigest(k1, v)).toBe(secretDigest(k1, Buffer.from('hunter2')));
    expect(secretDigest(k1, v)).not.toBe(secretDigest(k2, v));
    expect(secretDigest(k1, v)).toMatch(/^[0-9a-f]{64}$/);
    expect(secretDigest(k1, v)).not.toBe('f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf526a3f6c7');
  });

  it('master key ids tell keys apart without revealing them', () => {
    const k = newKey();
    expect(masterKeyId(k)).toHaveLength(16);
    expect(masterKeyId(k)).toBe(masterKeyId(Buffer.from(k)));
    expect(masterKeyId(k)).not.toBe(masterKeyId(newKey()));
    expect(k.toString('hex').includes(masterKeyId(k))).toBe(false);
  });
});
