// The database's tables as TypeScript sees them. Values are only ever stored
// sealed (secret_versions.sealed); keys only wrapped (apps.*_key_wrapped);
// tokens only as SHA-256 hashes. Timestamps are ISO-8601 UTC strings.
import type { Generated } from 'kysely';

export interface AppsTable {
  id: string;
  name: string;
  /** Bumped by every mutation of the app's secrets; lets readers cache safely. */
  revision: number;
  data_key_wrapped: Buffer;
  digest_key_wrapped: Buffer;
  created_at: string;
}

export interface SecretsTable {
  app_id: string;
  name: string;
  /** The version that `list` shows and the next deploy applies; null when an unset is staged. */
  current_version: number | null;
  /** The version machines run with; null until first deployed. */
  deployed_version: number | null;
  created_at: string;
  updated_at: string;
}

export interface SecretVersionsTable {
  app_id: string;
  name: string;
  version: number;
  sealed: Buffer;
  digest: string;
  created_at: string;
}

export interface TokensTable {
  id: string;
  hash: string;
  scope: 'admin' | 'deploy' | 'read';
  app_id: string | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface AuditTable {
  id: Generated<number>;
  time: string;
  token_id: string | null;
  action: string;
  app: string | null;
  name: string | null;
  digest: string | null;
  build_id: string | null;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface Database {
  apps: AppsTable;
  secrets: SecretsTable;
  secret_versions: SecretVersionsTable;
  tokens: TokensTable;
  audit: AuditTable;
  meta: MetaTable;
}
