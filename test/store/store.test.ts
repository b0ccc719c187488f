// The store and the vault service on every backend: migrations, apps, atomic
// multi-secret sets, versions, staging, unset, deploy, tokens, audit, the
// internal reader, and master key rotation.
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { Store } from '../../src/store/store.js';
import { masterKeyId, newKey, secretAad, seal } from '../../src/vault/crypto.js';
import { NotFoundError, ConflictError } from '../../src/vault/errors.js';
import { openSecretReader } from '../../src/vault/reader.js';
import { SecretVault, MASTER_KEY_ID_META } from '../../src/vault/vault.js';
import { TokenService } from '../../src/server/tokens.js';
import { storeBackends } from './backends.js';

const actor = { tokenId: 'tok_test' };
const b = (s: string) => Buffer.from(s, 'utf8');

for (const backend of storeBackends()) {
  describe(`store on ${backend.name}`, () => {
    afterAll(() => backend.cleanup());

    async function setup() {
      const store = await Store.open(await backend.fresh());
      const master = newKey();
      const vault = await SecretVault.open(store, master);
      return { store, vault, master };
    }

    it('migrates an empty database and reopens it without migrating again', async () => {
      const location = await backend.fresh();
      const s1 = await Store.open(location);
      await s1.repos.setMeta('probe', '1');
      await s1.close();
      const s2 = await Store.open(location);
      expect(await s2.repos.getMeta('probe')).toBe('1');
      await s2.close();
    });

    it('creates, lists and destroys apps; destroy takes secrets, versions and app tokens with it', async () => {
      const { store, vault } = await setup();
      await vault.createApp('alpha', actor);
      await vault.createApp('beta', actor);
      await expect(vault.createApp('alpha', actor)).rejects.toBeInstanceOf(ConflictError);
      await expect(vault.createApp('Bad_Name', actor)).rejects.toThrow(/app name "Bad_Name" is invalid/);
      expect((await vault.listApps()).map((a) => a.name)).toEqual(['alpha', 'beta']);
      await vault.setSecrets('alpha', [{ name: 'A', value: b('1') }], { stage: false }, actor);
      const tokens = new TokenService(store);
      await tokens.create({ scope: 'read', appName: 'alpha' }, actor);
      const app = (await store.repos.findAppByName('alpha'))!;
      await vault.destroyApp('alpha', actor);
      expect(await store.repos.findAppByName('alpha')).toBeUndefined();
      expect(await store.repos.countVersions(app.id)).toBe(0);
      expect((await tokens.list()).filter((t) => t.app === 'alpha')).toEqual([]);
      await expect(vault.destroyApp('alpha', actor)).rejects.toBeInstanceOf(NotFoundError);
      await store.close();
    });

    it('sets many secrets atomically: one bad entry changes nothing', async () => {
      const { store, vault } = await setup();
      await vault.createApp('app', actor);
      const bad = [
        [{ name: 'A', value: b('1') }, { name: 'A', value: b('2') }],
        [{ name: 'A', value: b('1') }, { name: '1BAD', value: b('2') }],
        [{ name: 'A', value: b('1') }, { name: '', value: b('2') }],
        [{ name: 'A', value: b('1') }, { name: 'BIG', value: Buffer.alloc(500 * 1024 + 1) }],
        [],
      ];
      for (const inputs of bad) {
        await expect(vault.setSecrets('app', inputs, { stage: false }, actor)).rejects.toBeInstanceOf(UserError);
      }
      await expect(vault.setSecrets('nope', [{ name: 'A', value: b('1') }], { stage: false }, actor)).rejects.toBeInstanceOf(NotFoundError);
      expect((await vault.listSecrets('app')).secrets).toEqual([]);
      expect((await vault.audit({ app: 'app', limit: 100 })).map((e) => e.action)).toEqual(['apps.create']);
      // Exactly 500 KiB is allowed.
      await vault.setSecrets('app', [{ name: 'MAX', value: Buffer.alloc(500 * 1024, 7) }], { stage: false }, actor);
      await store.close();
    });

    it('keeps versions, digests values with the app key, and tracks staged and deployed state', async () => {
      const { store, vault } = await setup();
      const app = await vault.createApp('app', actor);
      await vault.setSecrets('app', [{ name: 'A', value: b('one') }, { name: 'B', value: b('one') }], { stage: false }, actor);
      let list = (await vault.listSecrets('app')).secrets;
      expect(list.map((s) => [s.name, s.status])).toEqual([
        ['A', 'Deployed'],
        ['B', 'Deployed'],
      ]);
      expect(list[0]!.digest).toBe(list[1]!.digest);
      const firstDigest = list[0]!.digest;

      await vault.setSecrets('app', [{ name: 'A', value: b('two') }], { stage: true }, actor);
      list = (await vault.listSecrets('app')).secrets;
      expect(list.find((s) => s.name === 'A')!.status).toBe('Staged');
      expect(list.find((s) => s.name === 'A')!.digest).not.toBe(firstDigest);
      expect(await store.repos.countVersions(app.id)).toBe(3);

      // A staged change is what builds see; machines keep the deployed value until deploy.
      const reader = openSecretReader(vault);
      expect((await reader.readForBuild('app', ['A'], { buildId: 'b1' })).get('A')!.toString()).toBe('two');
      expect((await reader.readForMachine('app', { machineId: 'm1' })).get('A')!.toString()).toBe('one');

      await vault.unsetSecrets('app', ['B'], { stage: true }, actor);
      expect((await vault.listSecrets('app')).secrets.map((s) => s.name)).toEqual(['A']);
      expect((await reader.readForMachine('app', { machineId: 'm1' })).has('B')).toBe(true);

      expect(await vault.deploySecrets('app', actor)).toBe(2);
      list = (await vault.listSecrets('app')).secrets;
      expect(list.map((s) => [s.name, s.status])).toEqual([['A', 'Deployed']]);
      const machine = await reader.readForMachine('app', { machineId: 'm2' });
      expect([...machine.keys()]).toEqual(['A']);
      expect(machine.get('A')!.toString()).toBe('two');
      expect(await vault.deploySecrets('app', actor)).toBe(0);

      await expect(vault.unsetSecrets('app', ['A', 'NOPE'], { stage: false }, actor)).rejects.toThrow(/secret NOPE is not set in app app/);
      expect((await vault.listSecrets('app')).secrets.map((s) => s.name)).toEqual(['A']);
      await vault.unsetSecrets('app', ['A'], { stage: false }, actor);
      expect((await vault.listSecrets('app')).secrets).toEqual([]);
      // Versions are kept after unset; a new set continues the numbering.
      expect(await store.repos.countVersions(app.id)).toBe(3);
      await vault.setSecrets('app', [{ name: 'A', value: b('three') }], { stage: false }, actor);
      expect(await store.repos.latestVersions(app.id, ['A'])).toEqual(new Map([['A', 3]]));
      await store.close();
    });

    it('stores values byte-exact (binary, non-UTF-8) and never in plaintext', async () => {
      const { store, vault } = await setup();
      const app = await vault.createApp('app', actor);
      const value = Buffer.from([0, 255, 254, 0xc3, 0x28, 10, 13, 0, 1]);
      const marker = b('plaintext-marker-7f3a9');
      await vault.setSecrets('app', [{ name: 'BIN', value }, { name: 'TXT', value: marker }], { stage: false }, actor);
      const reader = openSecretReader(vault);
      const got = await reader.readForBuild('app', ['BIN', 'TXT'], { buildId: 'build-42' });
      expect(got.get('BIN')!.equals(value)).toBe(true);
      const rows = await store.repos.sealedVersions(app.id, [{ name: 'TXT', version: 1 }]);
      expect(rows[0]!.sealed.includes(marker)).toBe(false);
      const audit = await vault.audit({ app: 'app', limit: 100 });
      const reads = audit.filter((e) => e.action === 'secrets.read-build');
      expect(reads.map((e) => [e.name, e.build_id])).toEqual([
        ['BIN', 'build-42'],
        ['TXT', 'build-42'],
      ]);
      expect(reads[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
      await expect(reader.readForBuild('app', ['MISSING'], { buildId: 'b' })).rejects.toThrow(/secret MISSING is not set in app app/);
      await store.close();
    });

    it('a ciphertext swapped between rows fails to open instead of returning the wrong value', async () => {
      const { store, vault } = await setup();
      const app = await vault.createApp('app', actor);
      await vault.setSecrets('app', [{ name: 'A', value: b('a') }, { name: 'B', value: b('b') }], { stage: false }, actor);
      const [a] = await store.repos.sealedVersions(app.id, [{ name: 'A', version: 1 }]);
      await store.db.updateTable('secret_versions').set({ sealed: a!.sealed }).where('app_id', '=', app.id).where('name', '=', 'B').execute();
      await expect(openSecretReader(vault).readForBuild('app', ['B'], { buildId: 'x' })).rejects.toThrow(/failed authentication/);
      await store.close();
    });

    it('rewraps app keys under a new master key without touching sealed values', async () => {
      const { store, vault } = await setup();
      const app = await vault.createApp('app', actor);
      await vault.setSecrets('app', [{ name: 'A', value: b('keep me') }], { stage: false }, actor);
      const before = await store.repos.sealedVersions(app.id, [{ name: 'A', version: 1 }]);
      const next = newKey();
      expect(await vault.rewrapAll(next)).toBe(1);
      expect(await store.repos.getMeta(MASTER_KEY_ID_META)).toBe(masterKeyId(next));
      const after = await store.repos.sealedVersions(app.id, [{ name: 'A', version: 1 }]);
      expect(after[0]!.sealed.equals(before[0]!.sealed)).toBe(true);
      const reopened = await SecretVault.open(store, next);
      expect((await openSecretReader(reopened).readForBuild('app', ['A'], { buildId: 'r' })).get('A')!.toString()).toBe('keep me');
      await expect(SecretVault.open(store, newKey())).rejects.toThrow(/master key does not match this database/);
      await store.close();
    });

    it('creates, authenticates, expires and revokes tokens stored only as hashes', async () => {
      const { store, vault } = await setup();
      await vault.createApp('app', actor);
      const tokens = new TokenService(store);
      const admin = await tokens.bootstrapAdmin();
      expect(admin).toMatch(/^hgr_[A-Za-z0-9_-]{43}$/);
      expect(await tokens.bootstrapAdmin()).toBeUndefined();
      const p = await tokens.authenticate(admin!);
      expect(p).toMatchObject({ scope: 'admin', appName: null });
      const scoped = await tokens.create({ scope: 'read', appName: 'app', expiry: '1h' }, actor);
      expect(await tokens.authenticate(scoped.token)).toMatchObject({ scope: 'read', appName: 'app' });
      expect(await tokens.authenticate(scoped.token.slice(0, -1) + (scoped.token.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
      expect(await tokens.authenticate('hgr_unknown')).toBeUndefined();
      const raw = await store.db.selectFrom('tokens').select(['hash']).execute();
      for (const r of raw) {
        expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(r.hash).not.toContain(scoped.token);
      }
      await tokens.revoke(scoped.info.id, actor);
      expect(await tokens.authenticate(scoped.token)).toBeUndefined();
      await expect(tokens.revoke(scoped.info.id, actor)).rejects.toThrow(/does not exist or is already revoked/);
      await expect(tokens.create({ scope: 'read', expiry: '0h' }, actor)).rejects.toThrow(/expiry "0h" is invalid/);
      await expect(tokens.create({ scope: 'read', appName: 'nope' }, actor)).rejects.toBeInstanceOf(NotFoundError);
      // An expired token fails like any unknown one.
      const expired = await tokens.create({ scope: 'read', expiry: '1s' }, actor);
      await store.db.updateTable('tokens').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', expired.info.id).execute();
      tokens.forgetPrincipals();
      expect(await tokens.authenticate(expired.token)).toBeUndefined();
      expect((await tokens.list()).find((t) => t.id === p!.tokenId)!.lastUsedAt).not.toBeNull();
      await store.close();
    });

    it('answers concurrent creates of one app name with one app and conflicts', async () => {
      const { store, vault } = await setup();
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => vault.createApp('race', actor)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
      await store.close();
    });

    it('serialises concurrent writers of one app without losing a version', async () => {
      const { store, vault } = await setup();
      const app = await vault.createApp('app', actor);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => vault.setSecrets('app', [{ name: 'SAME', value: b(`v${i}`) }], { stage: false }, actor)),
      );
      expect(await store.repos.latestVersions(app.id, ['SAME'])).toEqual(new Map([['SAME', 20]]));
      expect(await store.repos.countVersions(app.id)).toBe(20);
      await store.close();
    });

    it('refuses a sealed value with the wrong format byte', async () => {
      const { store, vault, master } = await setup();
      const app = await vault.createApp('app', actor);
      await vault.setSecrets('app', [{ name: 'A', value: b('x') }], { stage: false }, actor);
      const forged = seal(master, b('x'), secretAad(app.id, 'A', 1));
      forged[0] = 2;
      await store.db.updateTable('secret_versions').set({ sealed: forged }).where('app_id', '=', app.id).execute();
      await expect(openSecretReader(vault).readForBuild('app', ['A'], { buildId: 'x' })).rejects.toThrow(/failed authentication/);
      await store.close();
    });
  });
}
