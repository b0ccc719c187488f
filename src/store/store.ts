// The store: opens SQLite (WAL, synchronous=FULL, so an acknowledged write
// survives kill -9) or PostgreSQL behind the same kysely repositories, applies
// migrations, and runs units of work in transactions. Knows rows, not meaning:
// it never sees a plaintext secret value or a raw token.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type SqliteDatabase, type Transaction } from 'kysely';
import pg from 'pg';
import { UserError } from '../errors.js';
import { WalCheckpointer } from './checkpointer.js';
import { migrationProvider, type Dialect } from './migrations.js';
import { Repositories, type HotStatements } from './repositories.js';
import type { Database } from './schema.js';

export type StoreLocation = { dialect: 'sqlite'; path: string; synchronous?: 'NORMAL' | 'FULL' } | { dialect: 'postgres'; url: string };

/**
 * Statements on the per-request path, prepared once. Kysely prepares every query anew, which costs
 * more than the query itself for a primary-key lookup.
 */
function hotStatements(sqlite: BetterSqlite3.Database): HotStatements {
  // Prepared on first use: the table exists only once migrations have run.
  let appByName: BetterSqlite3.Statement | undefined;
  return {
    appRevisionByName: (name) => {
      appByName ??= sqlite.prepare('select id, revision from apps where name = ?');
      return appByName.get(name) as { id: string; revision: number } | undefined;
    },
  };
}

/**
 * Kysely asks for a new prepared statement for every query; preparing costs more than running a
 * small query, so statements are kept by their SQL text (the set of texts is bounded: the queries
 * in repositories.ts, with IN-lists and multi-row inserts varying only in arity).
 */
function withStatementCache(sqlite: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (!stmt) {
        stmt = sqlite.prepare(sql);
        if (cache.size >= 500) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  } as SqliteDatabase;
}

/**
 * `--database`: a postgres:// URL, or a SQLite file path (default <data dir>/hangar.db).
 * HANGAR_SQLITE_SYNC=full makes SQLite fsync every commit (default normal).
 */
export function storeLocation(database: string | undefined, dataDir: string, env: NodeJS.ProcessEnv = {}): StoreLocation {
  if (database && /^postgres(ql)?:\/\//.test(database)) return { dialect: 'postgres', url: database };
  const sync = (env.HANGAR_SQLITE_SYNC ?? '').toLowerCase();
  if (sync !== '' && sync !== 'normal' && sync !== 'full') {
    throw new UserError(`HANGAR_SQLITE_SYNC=${env.HANGAR_SQLITE_SYNC} is not a sync mode; use normal or full.`);
  }
  const synchronous = sync === 'full' ? 'FULL' : 'NORMAL';
  if (!database) return { dialect: 'sqlite', path: `${dataDir}/hangar.db`, synchronous };
  if (database.startsWith('sqlite://')) return { dialect: 'sqlite', path: database.slice('sqlite://'.length), synchronous };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(database)) {
    throw new UserError(`--database ${database.split('://')[0]}:// is not supported; give a postgres:// URL or a SQLite file path.`);
  }
  return { dialect: 'sqlite', path: database, synchronous };
}

export class Store {
  readonly repos: Repositories;
  private checkpointer: WalCheckpointer | undefined;
  private constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    sqlite?: BetterSqlite3.Database,
  ) {
    this.repos = new Repositories(db, dialect, sqlite && hotStatements(sqlite));
  }

  static async open(location: StoreLocation): Promise<Store> {
    let db: Kysely<Database>;
    let raw: BetterSqlite3.Database | undefined;
    if (location.dialect === 'sqlite') {
      mkdirSync(dirname(location.path), { recursive: true, mode: 0o700 });
      const sqlite = new BetterSqlite3(location.path);
      sqlite.pragma('journal_mode = WAL');
      // NORMAL (the default): a commit is in the WAL file before it is acknowledged, so it survives
      // kill -9 of the server; the WAL is fsynced at every checkpoint. A commit does not wait for
      // fsync, which on a busy disk would stall every request (better-sqlite3 is synchronous).
      // FULL also fsyncs each commit, for durability across power loss.
      sqlite.pragma(`synchronous = ${location.synchronous ?? 'NORMAL'}`);
      sqlite.pragma('foreign_keys = ON');
      // Checkpoints run in a worker thread (./checkpointer.ts), not inside a commit on this thread.
      sqlite.pragma('wal_autocheckpoint = 0');
      sqlite.pragma('busy_timeout = 5000');
      db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
      raw = sqlite;
    } else {
      const pool = new pg.Pool({ connectionString: location.url, max: 10 });
      // A pool error (server restart) must not crash the process; the next query reports it.
      pool.on('error', () => undefined);
      db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    }
    const store = new Store(db, location.dialect, raw);
    if (location.dialect === 'sqlite') store.checkpointer = WalCheckpointer.start(location.path);
    try {
      await store.migrate();
    } catch (err) {
      await store.close();
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
    await this.checkpointer?.stop();
    // Closing the last connection checkpoints the WAL into the database file.
    await this.db.destroy();
  }
}
