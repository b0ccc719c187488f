// Versioned schema migrations, applied in order at start. A migration is never
// edited once released: add a new one. Must work on SQLite and PostgreSQL.
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

function migrations(dialect: Dialect): Record<string, Migration> {
  const blob = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    '0001_platform_core': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('apps')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('data_key_wrapped', sql.raw(blob), (c) => c.notNull())
          .addColumn('digest_key_wrapped', sql.raw(blob), (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('secrets')
          .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('current_version', 'integer')
          .addColumn('deployed_version', 'integer')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('secrets_pk', ['app_id', 'name'])
          .execute();
        await db.schema
          .createTable('secret_versions')
          .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('sealed', sql.raw(blob), (c) => c.notNull())
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('secret_versions_pk', ['app_id', 'name', 'version'])
          .execute();
        await db.schema
          .createTable('tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('hash', 'text', (c) => c.notNull().unique())
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('app_id', 'text', (c) => c.references('apps.id').onDelete('cascade'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text')
          .addColumn('last_used_at', 'text')
          .addColumn('revoked_at', 'text')
          .execute();
        await db.schema
          .createTable('audit')
          .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('time', 'text', (c) => c.notNull())
          .addColumn('token_id', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('app', 'text')
          .addColumn('name', 'text')
          .addColumn('digest', 'text')
          .addColumn('build_id', 'text')
          .execute();
        await db.schema.createIndex('audit_app_idx').on('audit').columns(['app', 'id']).execute();
        await db.schema
          .createTable('meta')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
      },
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrations(dialect)) };
}
