// /v1/tokens and /v1/whoami: create (the token is returned once, here only),
// list (never a token or hash), revoke; who the caller is.
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp, ApiDeps } from '../app.js';
import { SCOPES, type TokenInfo } from '../tokens.js';
import { actorOf, authorize } from './authorize.js';
import { errorResponses } from './schemas.js';

const TokenSchema = z
  .object({
    id: z.string(),
    scope: z.enum(SCOPES),
    app: z.string().nullable(),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    last_used_at: z.string().nullable(),
  })
  .openapi('Token');

function tokenJson(t: TokenInfo) {
  return { id: t.id, scope: t.scope, app: t.app, created_at: t.createdAt, expires_at: t.expiresAt, last_used_at: t.lastUsedAt };
}

export function registerTokenRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/whoami',
      summary: 'The token making the request',
      responses: {
        200: {
          description: 'The caller',
          content: {
            'application/json': {
              schema: z.object({ token_id: z.string(), scope: z.enum(SCOPES), app: z.string().nullable(), expires_at: z.string().nullable() }),
            },
          },
        },
        ...errorResponses(401),
      },
    }),
    (c) => {
      const p = c.get('principal');
      return c.json({ token_id: p.tokenId, scope: p.scope, app: p.appName, expires_at: p.expiresAt }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/tokens',
      summary: 'Create a token (returned once)',
      request: {
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.strictObject({
                scope: z.enum(SCOPES).default('admin'),
                app: z.string().optional(),
                expiry: z.string().optional().openapi({ example: '30d' }),
              }),
            },
          },
        },
      },
      responses: {
        201: { description: 'Created', content: { 'application/json': { schema: z.object({ token: z.string(), info: TokenSchema }) } } },
        ...errorResponses(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const p = c.get('principal');
      authorize(p, 'admin', 'global');
      const body = c.req.valid('json');
      const { token, info } = await deps.tokens.create({ scope: body.scope, appName: body.app, expiry: body.expiry }, actorOf(p));
      return c.json({ token, info: tokenJson(info) }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tokens',
      summary: 'List tokens that are not revoked',
      responses: {
        200: { description: 'Tokens', content: { 'application/json': { schema: z.object({ tokens: z.array(TokenSchema) }) } } },
        ...errorResponses(401, 403),
      },
    }),
    async (c) => {
      authorize(c.get('principal'), 'admin', 'global');
      const tokens = await deps.tokens.list();
      return c.json({ tokens: tokens.map(tokenJson) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/tokens/{id}',
      summary: 'Revoke a token',
      request: { params: z.object({ id: z.string().min(1).openapi({ param: { name: 'id', in: 'path' } }) }) },
      responses: {
        200: { description: 'Revoked', content: { 'application/json': { schema: z.object({ revoked: z.string() }) } } },
        ...errorResponses(401, 403, 404),
      },
    }),
    async (c) => {
      const p = c.get('principal');
      authorize(p, 'admin', 'global');
      const { id } = c.req.valid('param');
      await deps.tokens.revoke(id, actorOf(p));
      return c.json({ revoked: id }, 200);
    },
  );
}
