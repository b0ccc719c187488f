// The store backends every store test runs on: SQLite always, PostgreSQL when
// HANGAR_TEST_POSTGRES_URL is set. Each test file gets its own PostgreSQL
// database (created here, dropped after), so files can run in parallel.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { StoreLocation } from '../../src/store/store.js';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty location for one test. */
  fresh(): Promise<StoreLocation>;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  return {
    name: 'sqlite',
    fresh: () => Promise.resolve({ dialect: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'hangar-store-')), 'hangar.db') }),
    cleanup: () => Promise.resolve(),
  };
}

function postgresBackend(adminUrl: string): Backend {
  const created: string[] = [];
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    name: 'postgres',
    async fresh() {
      const db = `hangar_test_${randomBytes(6).toString('hex')}`;
      await admin((c) => c.query(`CREATE DATABASE ${db}`));
      created.push(db);
      const url = new URL(adminUrl);
      url.pathname = `/${db}`;
      return { dialect: 'postgres', url: url.toString() };
    },
    async cleanup() {
      await admin(async (c) => {
        for (const db of created.splice(0)) await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      });
    },
  };
}

export function storeBackends(): Backend[] {
  const url = process.env.HANGAR_TEST_POSTGRES_URL;
  return url ? [sqliteBackend(), postgresBackend(url)] : [sqliteBackend()];
}
