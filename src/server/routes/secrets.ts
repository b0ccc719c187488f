// /v1/apps/{app}/secrets: set (many at once, atomic, values as base64 so any
// bytes survive JSON), unset, deploy staged changes, list names and digests.
// No route here or anywhere returns a value.
import { gzipSync } from 'node:zlib';
import { createRoute, z } from '@hono/zod-openapi';
import { UserError } from '../../errors.js';
import { SECRET_VALUE_MAX_BYTES } from '../../vault/rules.js';
import type { SecretInput, SecretListing } from '../../vault/vault.js';
import type { ApiApp, ApiDeps } from '../app.js';
import { actorOf, authorize } from './authorize.js';
import { AppParam, errorResponses } from './schemas.js';

const SecretSchema = z
  .object({
    Name: z.string(),
    Digest: z.string(),
    CreatedAt: z.string(),
    UpdatedAt: z.string(),
    Status: z.enum(['Deployed', 'Staged']),
  })
  .openapi('Secret');

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function secretJson(s: SecretListing) {
  return { Name: s.name, Digest: s.digest, CreatedAt: s.createdAt, UpdatedAt: s.updatedAt, Status: s.status };
}

function decodeValue(name: string, encoded: string): Buffer {
  // Checked before decoding so a huge value is refused without allocating it.
  if (encoded.length > Math.ceil(SECRET_VALUE_MAX_BYTES / 3) * 4 + 4) {
    throw new UserError(`the value of ${name} is over the 500 KiB (512000 bytes) limit; store a smaller value or a reference to it.`);
  }
  if (!BASE64.test(encoded)) {
    throw new UserError(`the value_base64 of ${name} is not valid base64; encode the value's bytes with standard base64 and padding.`);
  }
  return Buffer.from(encoded, 'base64');
}

/** A copy with its own ArrayBuffer, made once per listing so that responses can send it without copying. */
function ownBytes(b: Buffer): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(b.length));
  out.set(b);
  return out;
}

export function registerSecretRoutes(app: ApiApp, deps: ApiDeps): void {
  // Serialised (and gzipped) listings keyed by app id, valid while the app's revision is unchanged:
  // a 1,000-secret listing is built and compressed once per change, not once per request.
  const listings = new Map<string, { revision: number; body: Uint8Array<ArrayBuffer>; gzipped: Uint8Array<ArrayBuffer>; etag: string }>();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps/{app}/secrets',
      summary: "List an app's secrets: names, keyed digests, status (never values)",
      request: { params: AppParam },
      responses: {
        200: { description: 'Secrets', content: { 'application/json': { schema: z.object({ secrets: z.array(SecretSchema) }) } } },
        ...errorResponses(401, 403, 404),
      },
    }),
    async (c) => {
      const { app: name } = c.req.valid('param');
      authorize(c.get('principal'), 'read', { app: name });
      const { appId, revision } = await deps.vault.secretsRevision(name);
      let cached = listings.get(appId);
      if (!cached || cached.revision !== revision) {
        const listing = await deps.vault.listSecrets(name);
        const body = Buffer.from(JSON.stringify({ secrets: listing.secrets.map(secretJson) }));
        cached = { revision: listing.revision, body: ownBytes(body), gzipped: ownBytes(gzipSync(body)), etag: `"${listing.appId}.${listing.revision}"` };
        listings.set(listing.appId, cached);
      }
      const headers: Record<string, string> = { 'content-type': 'application/json', etag: cached.etag, vary: 'accept-encoding' };
      if (c.req.header('if-none-match') === cached.etag) return c.body(null, 304, headers) as never;
      const gzip = /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
      if (gzip) headers['content-encoding'] = 'gzip';
      return c.body(gzip ? cached.gzipped : cached.body, 200, headers) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/apps/{app}/secrets',
      summary: 'Set secrets, all or none; with stage, they wait for the next deploy',
      request: {
        params: AppParam,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.strictObject({
                secrets: z.array(z.strictObject({ name: z.string(), value_base64: z.string() })).min(1).max(10000),
                stage: z.boolean().default(false),
              }),
            },
          },
        },
      },
      responses: {
        200: { description: 'Set', content: { 'application/json': { schema: z.object({ secrets: z.array(SecretSchema) }) } } },
        ...errorResponses(400, 401, 403, 404, 413, 415),
      },
    }),
    async (c) => {
      const p = c.get('principal');
      const { app: name } = c.req.valid('param');
      authorize(p, 'deploy', { app: name });
      const body = c.req.valid('json');
      const inputs: SecretInput[] = body.secrets.map((s) => ({ name: s.name, value: decodeValue(s.name, s.value_base64) }));
      const out = await deps.vault.setSecrets(name, inputs, { stage: body.stage }, actorOf(p));
      return c.json({ secrets: out.map(secretJson) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/apps/{app}/secrets/unset',
      summary: 'Remove secrets, all or none; with stage, at the next deploy',
      request: {
        params: AppParam,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.strictObject({ names: z.array(z.string()).min(1).max(10000), stage: z.boolean().default(false) }),
            },
          },
        },
      },
      responses: {
        200: { description: 'Unset', content: { 'application/json': { schema: z.object({ unset: z.array(z.string()) }) } } },
        ...errorResponses(400, 401, 403, 404, 415),
      },
    }),
    async (c) => {
      const p = c.get('principal');
      const { app: name } = c.req.valid('param');
      authorize(p, 'deploy', { app: name });
      const body = c.req.valid('json');
      await deps.vault.unsetSecrets(name, body.names, { stage: body.stage }, actorOf(p));
      return c.json({ unset: body.names }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/apps/{app}/secrets/deploy',
      summary: 'Make staged secret changes deployed',
      request: { params: AppParam },
      responses: {
        200: { description: 'Deployed', content: { 'application/json': { schema: z.object({ changed: z.number() }) } } },
        ...errorResponses(401, 403, 404),
      },
    }),
    async (c) => {
      const p = c.get('principal');
      const { app: name } = c.req.valid('param');
      authorize(p, 'deploy', { app: name });
      const changed = await deps.vault.deploySecrets(name, actorOf(p));
      return c.json({ changed }, 200);
    },
  );
}
