// SQLite checkpoints run in a worker thread: committed pages reach the
// database file without the server's thread ever checkpointing.
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { newKey } from '../../src/vault/crypto.js';
import { SecretVault } from '../../src/vault/vault.js';

describe('WAL checkpoints off the event loop', () => {
  it('moves committed pages into the database file in the background, and closes cleanly', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hangar-ckpt-')), 'hangar.db');
    const store = await Store.open({ dialect: 'sqlite', path });
    const vault = await SecretVault.open(store, newKey());
    await vault.createApp('ckpt', { tokenId: null });
    await new Promise((r) => setTimeout(r, 700));
    const before = statSync(path).size;
    const secrets = Array.from({ length: 400 }, (_, i) => ({ name: `S${i}`, value: Buffer.alloc(200, i) }));
    await vault.setSecrets('ckpt', secrets, { stage: false }, { tokenId: null });
    const deadline = Date.now() + 5000;
    while (statSync(path).size <= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(statSync(path).size).toBeGreaterThan(before);
    await store.close();
    const reopened = await Store.open({ dialect: 'sqlite', path });
    const app = await reopened.repos.findAppByName('ckpt');
    expect(await reopened.repos.countVersions(app!.id)).toBe(400);
    await reopened.close();
  });
});
