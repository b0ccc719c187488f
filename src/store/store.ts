// The store: opens SQLite (WAL, synchronous=FULL, so an acknowledged write
// survives kill -9) or PostgreSQL behind the same kysely repositories, applies
// migrations, and runs units of work in transactions. Knows rows, not meaning:
// it never sees a plaintext secret value or a raw token.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { UserError } from '../errors.js';
import { migrationProvider, type Dialect } from './migrations.js';
import { Repositories } from './repositories.js';
import type { Database } from './schema.js';

export type StoreLocation = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

/** `--database`: a postgres:// URL, or a SQLite file path (default <data dir>/hangar.db). */
export function storeLocation(database: string | undefined, dataDir: string): StoreLocation {
  if (!database) return { dialect: 'sqlite', path: `${dataDir}/hangar.db` };
  if (/^postgres(ql)?:\/\//.test(database)) return { dialect: 'postgres', url: database };
  if (database.startsWith('sqlite://')) return { dialect: 'sqlite', path: database.slice('sqlite://'.length) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(database)) {
    throw new UserError(`--database ${database.split('://')[0]}:// is not supported; give a postgres:// URL or a SQLite file path.`);
  }
  return { dialect: 'sqlite', path: database };
}

export class Store {
  readonly repos: Repositories;
  private constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
  ) {
    this.repos = new Repositories(db, dialect);
  }

  static async open(location: StoreLocation): Promise<Store> {
    let db: Kysely<Database>;
    if (location.dialect === 'sqlite') {
      mkdirSync(dirname(location.path), { recursive: true, mode: 0o700 });
      const sqlite = new BetterSqlite3(location.path);
      sqlite.pragma('journal_mode = WAL');
      // FULL: the WAL is synced at every commit, so an acknowledged write survives kill -9 and power loss.
      sqlite.pragma('synchronous = FULL');
      sqlite.pragma('foreign_keys = ON');
      sqlite.pragma('busy_timeout = 5000');
      db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    } else {
      const pool = new pg.Pool({ connectionString: location.url, max: 10 });
      // A pool error (server restart) must not crash the process; the next query reports it.
      pool.on('error', () => undefined);
      db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    }
    const store = new Store(db, location.dialect);
    try {
      await store.migrate();
    } catch (err) {
      await db.destroy();
      if (location.dialect === 'postgres') {
        const why = err instanceof Error ? err.message : String(err);
        throw new UserError(`cannot use the PostgreSQL database (${why}); check the --database URL and that the server is running.`, { cause: err });
      }
      throw err;
    }
    return store;
  }

  private async migrate(): Promise<void> {
    const migrator = new Migrator({ db: this.db, provider: migrationProvider(this.dialect) });
    const { error } = await migrator.migrateToLatest();
    if (error) throw error instanceof Error ? error : new Error(String(error));
  }

  /** Runs fn in one transaction: all of its writes commit together or none do. */
  transaction<T>(fn: (repos: Repositories, trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => fn(new Repositories(trx, this.dialect), trx));
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
