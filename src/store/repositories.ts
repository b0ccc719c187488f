// Data access for each table, usable inside or outside a transaction. Plain
// rows in, plain rows out; business rules live in vault/ and server/.
import type { Kysely } from 'kysely';
import type { Dialect } from './migrations.js';
import type { AppsTable, AuditTable, Database, SecretsTable, TokensTable } from './schema.js';

export type AppRow = AppsTable;
export type TokenRow = TokensTable;
export type SecretRow = SecretsTable;

export interface SecretListRow {
  name: string;
  current_version: number | null;
  deployed_version: number | null;
  created_at: string;
  updated_at: string;
  digest: string | null;
}

export interface SealedVersionRow {
  name: string;
  version: number;
  sealed: Buffer;
  digest: string;
}

export type AuditEntry = Omit<AuditTable, 'id'>;
export interface AuditRow extends AuditEntry {
  id: number;
}

/** Prepared statements for the hottest reads (SQLite only; outside transactions). */
export interface HotStatements {
  appRevisionByName(name: string): { id: string; revision: number } | undefined;
}

export class Repositories {
  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    private readonly hot?: HotStatements,
  ) {}

  // ---- apps
  async insertApp(row: AppRow): Promise<void> {
    await this.db.insertInto('apps').values(row).execute();
  }

  findAppByName(name: string): Promise<AppRow | undefined> {
    return this.db.selectFrom('apps').selectAll().where('name', '=', name).executeTakeFirst();
  }

  findAppById(id: string): Promise<AppRow | undefined> {
    return this.db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async appRevision(id: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('apps').select('revision').where('id', '=', id).executeTakeFirst();
    return row?.revision;
  }

  /** The id and revision of an app: one primary read per cached listing request. */
  async appRevisionByName(name: string): Promise<{ id: string; revision: number } | undefined> {
    if (this.hot) return this.hot.appRevisionByName(name);
    return this.db.selectFrom('apps').select(['id', 'revision']).where('name', '=', name).executeTakeFirst();
  }

  listApps(): Promise<AppRow[]> {
    return this.db.selectFrom('apps').selectAll().orderBy('name').execute();
  }

  /** Takes the app's row lock (PostgreSQL) and bumps its revision: serialises writers of one app. */
  async bumpAppRevision(id: string): Promise<void> {
    await this.db
      .updateTable('apps')
      .set((eb) => ({ revision: eb('revision', '+', 1) }))
      .where('id', '=', id)
      .execute();
  }

  async deleteApp(id: string): Promise<void> {
    await this.db.deleteFrom('secret_versions').where('app_id', '=', id).execute();
    await this.db.deleteFrom('secrets').where('app_id', '=', id).execute();
    await this.db.deleteFrom('tokens').where('app_id', '=', id).execute();
    await this.db.deleteFrom('apps').where('id', '=', id).execute();
  }

  async setWrappedKeys(id: string, dataKeyWrapped: Buffer, digestKeyWrapped: Buffer): Promise<void> {
    await this.db
      .updateTable('apps')
      .set({ data_key_wrapped: dataKeyWrapped, digest_key_wrapped: digestKeyWrapped })
      .where('id', '=', id)
      .execute();
  }

  // ---- secrets
  findSecrets(appId: string, names: readonly string[]): Promise<SecretRow[]> {
    if (names.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('secrets').selectAll().where('app_id', '=', appId).where('name', 'in', names).execute();
  }

  async latestVersions(appId: string, names: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    // One max() per name: with the (app_id, name, version) key that is an index seek, where a
    // GROUP BY over all names would walk every version ever stored.
    for (const name of names) {
      const row = await this.db
        .selectFrom('secret_versions')
        .select((eb) => eb.fn.max('version').as('v'))
        .where('app_id', '=', appId)
        .where('name', '=', name)
        .executeTakeFirst();
      if (row?.v !== null && row?.v !== undefined) out.set(name, Number(row.v));
    }
    return out;
  }

  async insertVersion(row: { app_id: string; name: string; version: number; sealed: Buffer; digest: string; created_at: string }): Promise<void> {
    await this.db.insertInto('secret_versions').values(row).execute();
  }

  async upsertSecret(row: SecretRow, exists: boolean): Promise<void> {
    if (exists) {
      await this.db
        .updateTable('secrets')
        .set({ current_version: row.current_version, deployed_version: row.deployed_version, updated_at: row.updated_at })
        .where('app_id', '=', row.app_id)
        .where('name', '=', row.name)
        .execute();
    } else {
      await this.db.insertInto('secrets').values(row).execute();
    }
  }

  async deleteSecret(appId: string, name: string): Promise<void> {
    await this.db.deleteFrom('secrets').where('app_id', '=', appId).where('name', '=', name).execute();
  }

  /** Every secret that `list` shows: those with a current version, with that version's digest. */
  listSecrets(appId: string): Promise<SecretListRow[]> {
    return this.db
      .selectFrom('secrets as s')
      .innerJoin('secret_versions as v', (j) =>
        j.onRef('v.app_id', '=', 's.app_id').onRef('v.name', '=', 's.name').onRef('v.version', '=', 's.current_version'),
      )
      .select(['s.name', 's.current_version', 's.deployed_version', 's.created_at', 's.updated_at', 'v.digest'])
      .where('s.app_id', '=', appId)
      .orderBy('s.name')
      .execute();
  }

  allSecretRows(appId: string): Promise<SecretRow[]> {
    return this.db.selectFrom('secrets').selectAll().where('app_id', '=', appId).orderBy('name').execute();
  }

  /** Sealed values of the given (name, version) pairs. */
  async sealedVersions(appId: string, wanted: readonly { name: string; version: number }[]): Promise<SealedVersionRow[]> {
    if (wanted.length === 0) return [];
    const rows = await this.db
      .selectFrom('secret_versions')
      .select(['name', 'version', 'sealed', 'digest'])
      .where('app_id', '=', appId)
      .where('name', 'in', wanted.map((w) => w.name))
      .execute();
    const keep = new Set(wanted.map((w) => `${w.name}\u0000${w.version}`));
    return rows.filter((r) => keep.has(`${r.name}\u0000${r.version}`)).map((r) => ({ ...r, sealed: Buffer.from(r.sealed) }));
  }

  async countVersions(appId: string): Promise<number> {
    const row = await this.db
      .selectFrom('secret_versions')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('app_id', '=', appId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  // ---- tokens
  async insertToken(row: TokenRow): Promise<void> {
    await this.db.insertInto('tokens').values(row).execute();
  }

  findTokenByHash(hash: string): Promise<TokenRow | undefined> {
    return this.db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
  }

  findToken(id: string): Promise<TokenRow | undefined> {
    return this.db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listTokens(): Promise<TokenRow[]> {
    return this.db.selectFrom('tokens').selectAll().where('revoked_at', 'is', null).orderBy('created_at').orderBy('id').execute();
  }

  async countTokens(): Promise<number> {
    const row = await this.db.selectFrom('tokens').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async revokeToken(id: string, at: string): Promise<boolean> {
    const res = await this.db
      .updateTable('tokens')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async touchToken(id: string, at: string): Promise<void> {
    await this.db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  // ---- audit
  async appendAudit(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // Chunked so that a 1,000-secret import stays under every driver's parameter limit.
    for (let i = 0; i < entries.length; i += 100) {
      await this.db.insertInto('audit').values(entries.slice(i, i + 100)).execute();
    }
  }

  async listAudit(filter: { app?: string; limit: number }): Promise<AuditRow[]> {
    let q = this.db.selectFrom('audit').selectAll();
    if (filter.app) q = q.where('app', '=', filter.app);
    const rows = await q.orderBy('id', 'desc').limit(filter.limit).execute();
    return rows.reverse().map((r) => ({ ...r, id: Number(r.id) }));
  }

  // ---- meta
  async getMeta(key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('meta')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }
}
