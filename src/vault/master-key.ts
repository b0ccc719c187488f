// Loads or creates the master key: 32 random bytes in <data dir>/master.key
// (mode 0600), or HANGAR_MASTER_KEY (64 hex digits or base64 of 32 bytes).
// Also the file half of key rotation. Never prints or logs the key.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { KEY_BYTES } from './crypto.js';

export interface MasterKeySource {
  key: Buffer;
  /** 'env' when HANGAR_MASTER_KEY supplied it, else the file path. */
  origin: 'env' | 'file';
  path: string;
  created: boolean;
}

export function masterKeyPath(dataDir: string): string {
  return join(dataDir, 'master.key');
}

export function pendingMasterKeyPath(dataDir: string): string {
  return join(dataDir, 'master.key.next');
}

function decodeEnvKey(value: string): Buffer {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(v)) {
    const b = Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === KEY_BYTES) return b;
  }
  throw new UserError('HANGAR_MASTER_KEY is not a 32-byte key; give 64 hex digits or the base64 of 32 random bytes.');
}

function readKeyFile(path: string): Buffer {
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) {
    throw new UserError(`${path} is readable by other users; run \`chmod 600 ${path}\` and start again.`);
  }
  const key = readFileSync(path);
  if (key.length !== KEY_BYTES) {
    throw new UserError(`${path} does not hold a 32-byte key; restore it from your backup.`);
  }
  return key;
}

/** Writes a key file durably: temp file, fsync, rename. */
export function writeKeyFile(path: string, key: Buffer): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function loadMasterKey(dataDir: string, env: NodeJS.ProcessEnv, create: boolean): MasterKeySource {
  const path = masterKeyPath(dataDir);
  if (env.HANGAR_MASTER_KEY) return { key: decodeEnvKey(env.HANGAR_MASTER_KEY), origin: 'env', path, created: false };
  if (existsSync(path)) return { key: readKeyFile(path), origin: 'file', path, created: false };
  if (!create) {
    throw new UserError(`the master key ${path} is missing and this database's keys are wrapped with it; restore it from your backup or set HANGAR_MASTER_KEY.`);
  }
  const key = randomBytes(KEY_BYTES);
  writeKeyFile(path, key);
  return { key, origin: 'file', path, created: true };
}

/** A rotation writes the new key here first, so a crash between the database and the file loses nothing. */
export function readPendingMasterKey(dataDir: string): Buffer | undefined {
  const path = pendingMasterKeyPath(dataDir);
  return existsSync(path) ? readKeyFile(path) : undefined;
}

export function promotePendingMasterKey(dataDir: string): void {
  renameSync(pendingMasterKeyPath(dataDir), masterKeyPath(dataDir));
}

export function discardPendingMasterKey(dataDir: string): void {
  rmSync(pendingMasterKeyPath(dataDir), { force: true });
}
