// API tokens: `hgr_` + 32 random bytes (base64url), stored only as SHA-256
// hashes and compared in constant time. An unknown, wrong, expired or revoked
// token is one and the same failure, so nothing tells them apart, timing
// included: every check hashes the presented token and does the same single
// lookup. Never logs or returns a token except once, to its creator.
import { createHash, randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { TokenRow } from '../store/repositories.js';
import { constantTimeEqual } from '../vault/crypto.js';
import { NotFoundError } from '../vault/errors.js';
import { auditEntry, type Actor } from '../vault/vault.js';

export const TOKEN_PREFIX = 'hgr_';
export const SCOPES = ['admin', 'deploy', 'read'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  tokenId: string;
  scope: Scope;
  /** Set for an app-scoped token: it may touch only this app. */
  appId: string | null;
  appName: string | null;
  expiresAt: string | null;
}

export interface TokenInfo {
  id: string;
  scope: Scope;
  app: string | null;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const MAX_EXPIRY_SECONDS = 10 * 365 * 86400;

/** "24h", "30d", "90m", "2w", "45s" → seconds. */
export function parseExpiry(text: string): number {
  const m = /^([1-9][0-9]{0,8})([smhdw])$/.exec(text.trim());
  const seconds = m ? Number(m[1]) * UNITS[m[2]!]! : NaN;
  if (!m || seconds > MAX_EXPIRY_SECONDS) {
    throw new UserError(`expiry ${JSON.stringify(text)} is invalid; give a number and a unit (s, m, h, d or w), such as 24h or 30d, up to 10 years.`);
  }
  return seconds;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

function info(row: TokenRow, appName: string | null): TokenInfo {
  return {
    id: row.id,
    scope: row.scope,
    app: appName,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
  };
}

export class TokenService {
  /** last_used_at is written at most this often per token, so reads stay reads. */
  private static readonly TOUCH_INTERVAL_MS = 30_000;
  private readonly touched = new Map<string, number>();
  /**
   * Recently authenticated tokens by hash, so that a busy client costs one hash per request, not a
   * query. Revocation and app destruction in this process clear it at once; another server process
   * on the same PostgreSQL sees a revocation within PRINCIPAL_TTL_MS.
   */
  private readonly principals = new Map<string, { principal: Principal; until: number }>();
  static readonly PRINCIPAL_TTL_MS = 2_000;

  constructor(private readonly store: Store) {}

  async create(opts: { scope: Scope; appName?: string | undefined; expiry?: string | undefined }, actor: Actor): Promise<{ token: string; info: TokenInfo }> {
    if (!SCOPES.includes(opts.scope)) throw new UserError(`scope ${JSON.stringify(opts.scope)} is invalid; use admin, deploy or read.`);
    const expiresAt = opts.expiry ? new Date(Date.now() + parseExpiry(opts.expiry) * 1000).toISOString() : null;
    const token = newToken();
    const row: TokenRow = {
      id: `tok_${randomBytes(8).toString('hex')}`,
      hash: hashToken(token),
      scope: opts.scope,
      app_id: null,
      created_at: new Date().toISOString(),
      expires_at: expiresAt,
      last_used_at: null,
      revoked_at: null,
    };
    await this.store.transaction(async (repos) => {
      if (opts.appName !== undefined) {
        const app = await repos.findAppByName(opts.appName);
        if (!app) throw new NotFoundError(`app ${JSON.stringify(opts.appName)} does not exist; run \`hangar apps list\` to see the apps.`);
        row.app_id = app.id;
      }
      await repos.insertToken(row);
      await repos.appendAudit([{ ...auditEntry(actor, 'tokens.create', opts.appName ?? null), name: row.id }]);
    });
    return { token, info: info(row, opts.appName ?? null) };
  }

  /** The one check for every request. Undefined for any token that must not pass. */
  async authenticate(presented: string): Promise<Principal | undefined> {
    const hash = hashToken(presented);
    const nowMs = Date.now();
    const hit = this.principals.get(hash);
    if (hit && hit.until > nowMs && (hit.principal.expiresAt === null || Date.parse(hit.principal.expiresAt) > nowMs)) {
      await this.touch(hit.principal.tokenId);
      return hit.principal;
    }
    const row = await this.store.repos.findTokenByHash(hash);
    // The lookup is by hash, so an attacker cannot steer it; the explicit compare keeps the check honest.
    const ok =
      row !== undefined &&
      constantTimeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(hash, 'hex')) &&
      row.revoked_at === null &&
      (row.expires_at === null || Date.parse(row.expires_at) > Date.now());
    if (!ok || !row) return undefined;
    let appName: string | null = null;
    if (row.app_id) {
      const app = await this.store.repos.findAppById(row.app_id);
      if (!app) return undefined;
      appName = app.name;
    }
    await this.touch(row.id);
    const principal: Principal = { tokenId: row.id, scope: row.scope, appId: row.app_id, appName, expiresAt: row.expires_at };
    if (this.principals.size > 10_000) this.principals.clear();
    this.principals.set(hash, { principal, until: nowMs + TokenService.PRINCIPAL_TTL_MS });
    return principal;
  }

  private async touch(id: string): Promise<void> {
    const nowMs = Date.now();
    const last = this.touched.get(id);
    if (last !== undefined && nowMs - last < TokenService.TOUCH_INTERVAL_MS) return;
    this.touched.set(id, nowMs);
    await this.store.repos.touchToken(id, new Date(nowMs).toISOString());
  }

  async list(): Promise<TokenInfo[]> {
    const rows = await this.store.repos.listTokens();
    const apps = new Map((await this.store.repos.listApps()).map((a) => [a.id, a.name]));
    return rows.map((r) => info(r, r.app_id ? (apps.get(r.app_id) ?? null) : null));
  }

  async revoke(id: string, actor: Actor): Promise<void> {
    await this.store.transaction(async (repos) => {
      if (!(await repos.revokeToken(id, new Date().toISOString()))) {
        throw new NotFoundError(`token ${JSON.stringify(id)} does not exist or is already revoked; run \`hangar tokens list\` to see the tokens.`);
      }
      await repos.appendAudit([{ ...auditEntry(actor, 'tokens.revoke', null), name: id }]);
    });
    this.forgetPrincipals();
  }

  /** Drops every cached authentication; called when tokens or apps go away. */
  forgetPrincipals(): void {
    this.principals.clear();
  }

  /** On first start only: the admin token that lets the owner in. */
  async bootstrapAdmin(): Promise<string | undefined> {
    if ((await this.store.repos.countTokens()) > 0) return undefined;
    const { token } = await this.create({ scope: 'admin' }, { tokenId: null });
    return token;
  }
}
