// Typed HTTP client for the Hangar API, on Node's fetch. Turns API errors into
// UserErrors carrying the server's one-sentence message. Sends values only in
// request bodies (base64), never in URLs; never prints a token or a value.
import { InternalError, UserError } from '../errors.js';
import type { ApiTarget } from '../config/paths.js';

export interface SecretJson {
  Name: string;
  Digest: string;
  CreatedAt: string;
  UpdatedAt: string;
  Status: 'Deployed' | 'Staged';
}

export interface AppJson {
  id: string;
  name: string;
  created_at: string;
}

export interface TokenJson {
  id: string;
  scope: 'admin' | 'deploy' | 'read';
  app: string | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export interface WhoamiJson {
  token_id: string;
  scope: 'admin' | 'deploy' | 'read';
  app: string | null;
  expires_at: string | null;
}

export interface AuditEntryJson {
  id: number;
  time: string;
  token_id: string | null;
  action: string;
  app: string | null;
  name: string | null;
  digest: string | null;
  build_id: string | null;
}

export class HangarClient {
  constructor(private readonly target: ApiTarget) {}

  get url(): string {
    return this.target.url;
  }

  private async request<T>(method: string, path: string, body?: unknown, opts: { auth?: boolean } = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.auth !== false) {
      if (!this.target.token) {
        throw new UserError('no API token; run `hangar auth login --token TOKEN` or set HANGAR_API_TOKEN.');
      }
      headers.authorization = `Bearer ${this.target.token}`;
    }
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let res: Response;
    try {
      res = await fetch(`${this.target.url}${path}`, { method, headers, body: payload });
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code;
      throw new UserError(
        `cannot reach the Hangar API at ${this.target.url}${code ? ` (${code})` : ''}; start it with \`hangar server\` or set HANGAR_API_URL.`,
        { cause: err },
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const message = (parsed as { error?: { message?: unknown } } | undefined)?.error?.message;
      if (typeof message === 'string' && message) throw new UserError(message.replace(/\.$/, '') + '.');
      throw new UserError(`the Hangar API at ${this.target.url} answered HTTP ${res.status}; check HANGAR_API_URL.`);
    }
    if (parsed === undefined) throw new InternalError(`the Hangar API answered ${method} ${path} with a body that is not JSON`);
    return parsed as T;
  }

  health(): Promise<{ status: string }> {
    return this.request('GET', '/v1/health', undefined, { auth: false });
  }

  whoami(): Promise<WhoamiJson> {
    return this.request('GET', '/v1/whoami');
  }

  createToken(opts: { scope: string; app?: string | undefined; expiry?: string | undefined }): Promise<{ token: string; info: TokenJson }> {
    return this.request('POST', '/v1/tokens', opts);
  }

  async listTokens(): Promise<TokenJson[]> {
    return (await this.request<{ tokens: TokenJson[] }>('GET', '/v1/tokens')).tokens;
  }

  async revokeToken(id: string): Promise<void> {
    await this.request('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
  }

  createApp(name: string): Promise<AppJson> {
    return this.request('POST', '/v1/apps', { name });
  }

  async listApps(): Promise<AppJson[]> {
    return (await this.request<{ apps: AppJson[] }>('GET', '/v1/apps')).apps;
  }

  async destroyApp(name: string): Promise<void> {
    await this.request('DELETE', `/v1/apps/${encodeURIComponent(name)}`);
  }

  async listSecrets(app: string): Promise<SecretJson[]> {
    return (await this.request<{ secrets: SecretJson[] }>('GET', `/v1/apps/${encodeURIComponent(app)}/secrets`)).secrets;
  }

  async setSecrets(app: string, secrets: readonly { name: string; value: Buffer }[], stage: boolean): Promise<SecretJson[]> {
    const body = { secrets: secrets.map((s) => ({ name: s.name, value_base64: s.value.toString('base64') })), stage };
    return (await this.request<{ secrets: SecretJson[] }>('POST', `/v1/apps/${encodeURIComponent(app)}/secrets`, body)).secrets;
  }

  async unsetSecrets(app: string, names: readonly string[], stage: boolean): Promise<void> {
    await this.request('POST', `/v1/apps/${encodeURIComponent(app)}/secrets/unset`, { names, stage });
  }

  async deploySecrets(app: string): Promise<number> {
    return (await this.request<{ changed: number }>('POST', `/v1/apps/${encodeURIComponent(app)}/secrets/deploy`)).changed;
  }

  async audit(opts: { app?: string | undefined; limit?: number | undefined }): Promise<AuditEntryJson[]> {
    const q = new URLSearchParams();
    if (opts.app) q.set('app', opts.app);
    if (opts.limit) q.set('limit', String(opts.limit));
    const qs = q.toString();
    return (await this.request<{ entries: AuditEntryJson[] }>('GET', `/v1/audit${qs ? `?${qs}` : ''}`)).entries;
  }
}
