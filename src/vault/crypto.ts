// The vault's pure cryptography: AES-256-GCM sealing of secret values bound to
// their app, name and version; wrapping of per-app keys under the master key;
// keyed digests. Takes bytes, returns bytes: no files, no sockets, no clock.
// Never logs, never returns plaintext on a failed check: a failed decryption is
// a VaultIntegrityError, never a fallback.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const FORMAT_V1 = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

export class VaultIntegrityError extends Error {
  constructor(what: string) {
    super(`${what} failed authentication; the data or the key is not the one it was sealed with`);
    this.name = 'VaultIntegrityError';
  }
}

/** Length-prefixed parts, so that ("ab","c") and ("a","bc") never give the same AAD. */
function boundData(label: string, parts: readonly string[]): Buffer {
  const chunks: Buffer[] = [Buffer.from(label, 'utf8')];
  for (const p of parts) {
    const b = Buffer.from(p, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    chunks.push(len, b);
  }
  return Buffer.concat(chunks);
}

export function secretAad(appId: string, name: string, version: number): Buffer {
  return boundData('hangar/secret/v1', [appId, name, String(version)]);
}

export function appKeyAad(appId: string, purpose: 'data' | 'digest'): Buffer {
  return boundData('hangar/app-key/v1', [appId, purpose]);
}

/** Layout: format byte, 12-byte IV, 16-byte tag, ciphertext. */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  if (key.length !== KEY_BYTES) throw new Error('seal needs a 32-byte key');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([FORMAT_V1]), iv, cipher.getAuthTag(), ct]);
}

export function open(key: Buffer, sealed: Buffer, aad: Buffer, what = 'a sealed value'): Buffer {
  if (key.length !== KEY_BYTES) throw new Error('open needs a 32-byte key');
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== FORMAT_V1) throw new VaultIntegrityError(what);
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const ct = sealed.subarray(1 + IV_BYTES + TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ct), decipher.final()]);
  } catch {
    throw new VaultIntegrityError(what);
  }
}

export function newKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

export function wrapAppKey(masterKey: Buffer, appId: string, purpose: 'data' | 'digest', key: Buffer): Buffer {
  return seal(masterKey, key, appKeyAad(appId, purpose));
}

export function unwrapAppKey(masterKey: Buffer, appId: string, purpose: 'data' | 'digest', wrapped: Buffer): Buffer {
  const key = open(masterKey, wrapped, appKeyAad(appId, purpose), `the ${purpose} key of app ${appId}`);
  if (key.length !== KEY_BYTES) throw new VaultIntegrityError(`the ${purpose} key of app ${appId}`);
  return key;
}

/** Keyed digest (HMAC-SHA256, hex): stable for a value within an app, useless for offline guessing. */
export function secretDigest(digestKey: Buffer, value: Buffer): string {
  return createHmac('sha256', digestKey).update(value).digest('hex');
}

/** A short public fingerprint of the master key, stored beside the wrapped keys to detect a wrong key early. */
export function masterKeyId(masterKey: Buffer): string {
  return createHmac('sha256', masterKey).update('hangar/master-key-id/v1').digest('hex').slice(0, 16);
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
