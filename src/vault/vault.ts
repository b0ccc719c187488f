// SecretVault: apps and their secrets as the API sees them. Creates per-app
// data and digest keys wrapped by the master key, seals each value with
// AES-256-GCM bound to (app id, name, version), keeps every version, and writes
// an audit entry next to every mutation in the same transaction.
//
// It never returns, logs or puts in an error a plaintext value. The only way to
// plaintext is SecretReader (./reader.ts), which must be obtained separately
// with openSecretReader(vault) and is never wired to a public route.
import { randomUUID } from 'node:crypto';
import { UserError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { AppRow, AuditEntry, Repositories } from '../store/repositories.js';
import { masterKeyId, newKey, open, seal, secretAad, secretDigest, unwrapAppKey, wrapAppKey } from './crypto.js';
import { ConflictError, NotFoundError } from './errors.js';
import { checkAppName, checkDistinctNames, checkSecretName, checkSecretValue } from './rules.js';

export interface Actor {
  /** The token that asked, for the audit trail; null for the server itself. */
  tokenId: string | null;
}

export interface AppInfo {
  id: string;
  name: string;
  createdAt: string;
}

export interface SecretInput {
  name: string;
  value: Buffer;
}

export type SecretStatus = 'Deployed' | 'Staged';

export interface SecretListing {
  name: string;
  digest: string;
  createdAt: string;
  updatedAt: string;
  status: SecretStatus;
}

export interface AppKeys {
  data: Buffer;
  digest: Buffer;
}

export const MASTER_KEY_ID_META = 'master_key_id';

/** Module-private access to keys and sealed rows, handed only to SecretReader. */
export const vaultInternals = new WeakMap<SecretVault, { keysFor(app: AppRow): AppKeys; store: Store }>();

function now(): string {
  return new Date().toISOString();
}

export class SecretVault {
  private readonly keyCache = new Map<string, AppKeys>();

  private constructor(
    private readonly store: Store,
    private readonly masterKey: Buffer,
  ) {
    vaultInternals.set(this, { keysFor: (app) => this.keysFor(app), store });
  }

  /** Checks that the master key is the one this database's keys are wrapped with (recording it on first use). */
  static async open(store: Store, masterKey: Buffer): Promise<SecretVault> {
    const id = masterKeyId(masterKey);
    const recorded = await store.repos.getMeta(MASTER_KEY_ID_META);
    if (recorded === undefined) await store.repos.setMeta(MASTER_KEY_ID_META, id);
    else if (recorded !== id) {
      throw new UserError('the master key does not match this database (its app keys are wrapped with another key); restore the right master.key or HANGAR_MASTER_KEY.');
    }
    return new SecretVault(store, masterKey);
  }

  private keysFor(app: AppRow): AppKeys {
    const cached = this.keyCache.get(app.id);
    if (cached) return cached;
    const keys = {
      data: unwrapAppKey(this.masterKey, app.id, 'data', Buffer.from(app.data_key_wrapped)),
      digest: unwrapAppKey(this.masterKey, app.id, 'digest', Buffer.from(app.digest_key_wrapped)),
    };
    this.keyCache.set(app.id, keys);
    return keys;
  }

  async requireApp(name: string, repos: Repositories = this.store.repos): Promise<AppRow> {
    const app = await repos.findAppByName(name);
    if (!app) throw new NotFoundError(`app ${JSON.stringify(name)} does not exist; run \`hangar apps list\` to see the apps.`);
    return app;
  }

  // ---- apps
  async createApp(name: string, actor: Actor): Promise<AppInfo> {
    checkAppName(name);
    const id = randomUUID();
    const createdAt = now();
    const exists = () => new ConflictError(`app ${name} already exists; pick another name.`);
    await this.store.transaction(async (repos) => {
      if (await repos.findAppByName(name)) throw exists();
      await repos.insertApp({
        id,
        name,
        revision: 0,
        data_key_wrapped: wrapAppKey(this.masterKey, id, 'data', newKey()),
        digest_key_wrapped: wrapAppKey(this.masterKey, id, 'digest', newKey()),
        created_at: createdAt,
      });
      await repos.appendAudit([auditEntry(actor, 'apps.create', name)]);
    }).catch((err: unknown) => {
      // Two creates of one name at once: the loser hits the unique index.
      if (isUniqueViolation(err)) throw exists();
      throw err;
    });
    return { id, name, createdAt };
  }

  async listApps(): Promise<AppInfo[]> {
    const rows = await this.store.repos.listApps();
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }));
  }

  async findApp(name: string): Promise<AppInfo | undefined> {
    const r = await this.store.repos.findAppByName(name);
    return r && { id: r.id, name: r.name, createdAt: r.created_at };
  }

  /** Removes the app, every version of its secrets, its keys and its app-scoped tokens. */
  async destroyApp(name: string, actor: Actor): Promise<void> {
    await this.store.transaction(async (repos) => {
      const app = await this.requireApp(name, repos);
      await repos.deleteApp(app.id);
      await repos.appendAudit([auditEntry(actor, 'apps.destroy', name)]);
      this.keyCache.delete(app.id);
    });
  }

  // ---- secrets
  /** Sets many secrets at once: all are sealed and stored, or (on any bad input) none. */
  async setSecrets(appName: string, inputs: readonly SecretInput[], opts: { stage: boolean }, actor: Actor): Promise<SecretListing[]> {
    if (inputs.length === 0) throw new UserError('no secrets given; pass NAME=VALUE pairs.');
    for (const s of inputs) checkSecretName(s.name);
    checkDistinctNames(inputs.map((s) => s.name));
    for (const s of inputs) checkSecretValue(s.name, s.value);
    return this.store.transaction(async (repos) => {
      const app = await this.requireApp(appName, repos);
      await repos.bumpAppRevision(app.id);
      const keys = this.keysFor(app);
      const names = inputs.map((s) => s.name);
      const existing = new Map((await repos.findSecrets(app.id, names)).map((r) => [r.name, r]));
      const latest = await repos.latestVersions(app.id, names);
      const at = now();
      const audit: AuditEntry[] = [];
      const out: SecretListing[] = [];
      for (const s of inputs) {
        const version = (latest.get(s.name) ?? 0) + 1;
        const digest = secretDigest(keys.digest, s.value);
        await repos.insertVersion({
          app_id: app.id,
          name: s.name,
          version,
          sealed: seal(keys.data, s.value, secretAad(app.id, s.name, version)),
          digest,
          created_at: at,
        });
        const prior = existing.get(s.name);
        await repos.upsertSecret(
          {
            app_id: app.id,
            name: s.name,
            current_version: version,
            deployed_version: opts.stage ? (prior?.deployed_version ?? null) : version,
            created_at: prior?.created_at ?? at,
            updated_at: at,
          },
          prior !== undefined,
        );
        audit.push({ ...auditEntry(actor, opts.stage ? 'secrets.stage' : 'secrets.set', appName), name: s.name, digest });
        out.push({ name: s.name, digest, createdAt: prior?.created_at ?? at, updatedAt: at, status: opts.stage ? 'Staged' : 'Deployed' });
      }
      await repos.appendAudit(audit);
      return out;
    });
  }

  /** Removes secrets (or, with stage, marks their removal for the next deploy); unknown names change nothing. */
  async unsetSecrets(appName: string, names: readonly string[], opts: { stage: boolean }, actor: Actor): Promise<void> {
    if (names.length === 0) throw new UserError('no secret names given; pass the names to unset.');
    for (const n of names) checkSecretName(n);
    checkDistinctNames(names);
    await this.store.transaction(async (repos) => {
      const app = await this.requireApp(appName, repos);
      await repos.bumpAppRevision(app.id);
      const rows = new Map((await repos.findSecrets(app.id, names)).map((r) => [r.name, r]));
      for (const n of names) {
        const row = rows.get(n);
        if (!row || row.current_version === null) {
          throw new NotFoundError(`secret ${n} is not set in app ${appName}; run \`hangar secrets list\` to see its secrets.`);
        }
      }
      const at = now();
      for (const n of names) {
        const row = rows.get(n)!;
        if (opts.stage && row.deployed_version !== null) {
          await repos.upsertSecret({ ...row, current_version: null, updated_at: at }, true);
        } else {
          await repos.deleteSecret(app.id, n);
        }
      }
      await repos.appendAudit(names.map((n) => ({ ...auditEntry(actor, opts.stage ? 'secrets.unset-staged' : 'secrets.unset', appName), name: n })));
    });
  }

  /** Staged changes become deployed. Returns how many secrets changed. */
  async deploySecrets(appName: string, actor: Actor): Promise<number> {
    return this.store.transaction(async (repos) => {
      const app = await this.requireApp(appName, repos);
      await repos.bumpAppRevision(app.id);
      const at = now();
      let changed = 0;
      for (const row of await repos.allSecretRows(app.id)) {
        if (row.current_version === row.deployed_version) continue;
        changed++;
        if (row.current_version === null) await repos.deleteSecret(app.id, row.name);
        else await repos.upsertSecret({ ...row, deployed_version: row.current_version, updated_at: at }, true);
      }
      await repos.appendAudit([{ ...auditEntry(actor, 'secrets.deploy', appName), name: null, digest: null }]);
      return changed;
    });
  }

  /** The app's revision: changes with every mutation of its secrets, so a listing can be cached against it. */
  async secretsRevision(appName: string): Promise<{ appId: string; revision: number }> {
    const app = await this.store.repos.appRevisionByName(appName);
    if (!app) throw new NotFoundError(`app ${JSON.stringify(appName)} does not exist; run \`hangar apps list\` to see the apps.`);
    return { appId: app.id, revision: app.revision };
  }

  async listSecrets(appName: string): Promise<{ appId: string; revision: number; secrets: SecretListing[] }> {
    // Read the app row and the rows in one transaction so the revision describes exactly this listing.
    return this.store.transaction(async (repos) => {
      const app = await this.requireApp(appName, repos);
      const rows = await repos.listSecrets(app.id);
      return {
        appId: app.id,
        revision: app.revision,
        secrets: rows.map((r) => ({
          name: r.name,
          digest: r.digest ?? '',
          createdAt: r.created_at,
          updatedAt: r.updated_at,
          status: r.current_version === r.deployed_version ? ('Deployed' as const) : ('Staged' as const),
        })),
      };
    });
  }

  /** The audit trail, oldest first: names and digests, never values. */
  async audit(filter: { app?: string | undefined; limit: number }) {
    return this.store.repos.listAudit({ limit: filter.limit, ...(filter.app ? { app: filter.app } : {}) });
  }

  /** Rewraps every app's keys under a new master key in one transaction; values are untouched. */
  async rewrapAll(newMasterKey: Buffer): Promise<number> {
    const count = await this.store.transaction(async (repos) => {
      const apps = await repos.listApps();
      for (const app of apps) {
        const keys = this.keysFor(app);
        await repos.setWrappedKeys(app.id, wrapAppKey(newMasterKey, app.id, 'data', keys.data), wrapAppKey(newMasterKey, app.id, 'digest', keys.digest));
      }
      await repos.setMeta(MASTER_KEY_ID_META, masterKeyId(newMasterKey));
      return apps.length;
    });
    this.keyCache.clear();
    return count;
  }

  /** Opens one sealed row; for tests and the reader, never for a route. */
  static openSealed(keys: AppKeys, appId: string, name: string, version: number, sealed: Buffer): Buffer {
    return open(keys.data, sealed, secretAad(appId, name, version), `secret ${name} version ${version}`);
  }
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export function auditEntry(actor: Actor, action: string, app: string | null): AuditEntry {
  return { time: now(), token_id: actor.tokenId, action, app, name: null, digest: null, build_id: null };
}
