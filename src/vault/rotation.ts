// Master key rotation and its crash recovery. The new key is written to
// master.key.next (fsync) before the database is touched; the database rewraps
// every app key and records the new key id in one transaction; only then does
// master.key.next replace master.key. Whatever the crash point, start-up finds
// a key that matches the database. Never prints a key.
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';
import type { Store } from '../store/store.js';
import { KEY_BYTES, masterKeyId } from './crypto.js';
import {
  discardPendingMasterKey,
  loadMasterKey,
  pendingMasterKeyPath,
  promotePendingMasterKey,
  readPendingMasterKey,
  writeKeyFile,
} from './master-key.js';
import { MASTER_KEY_ID_META, SecretVault } from './vault.js';

/** Finishes or abandons an interrupted rotation, before the master key is loaded. */
export async function recoverRotation(dataDir: string, store: Store): Promise<void> {
  const pending = readPendingMasterKey(dataDir);
  if (!pending) return;
  const recorded = await store.repos.getMeta(MASTER_KEY_ID_META);
  if (recorded === masterKeyId(pending)) promotePendingMasterKey(dataDir);
  else discardPendingMasterKey(dataDir);
}

export async function rotateMasterKey(dataDir: string, store: Store, env: NodeJS.ProcessEnv): Promise<{ apps: number }> {
  if (env.HANGAR_MASTER_KEY) {
    throw new UserError('the master key comes from HANGAR_MASTER_KEY; unset it to rotate the key in master.key, or change the variable yourself.');
  }
  await recoverRotation(dataDir, store);
  const current = loadMasterKey(dataDir, env, false);
  const vault = await SecretVault.open(store, current.key);
  const next = randomBytes(KEY_BYTES);
  writeKeyFile(pendingMasterKeyPath(dataDir), next);
  let apps: number;
  try {
    apps = await vault.rewrapAll(next);
  } catch (err) {
    discardPendingMasterKey(dataDir);
    throw err;
  }
  promotePendingMasterKey(dataDir);
  return { apps };
}
