// /v1/apps: create, list, destroy. Destroying takes the app's secrets, every
// version of them, its keys and its app-scoped tokens with it.
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp, ApiDeps } from '../app.js';
import { actorOf, authorize } from './authorize.js';
import { AppParam, errorResponses } from './schemas.js';

const AppSchema = z.object({ id: z.string(), name: z.string(), created_at: z.string() }).openapi('App');

export function registerAppRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/apps',
      summary: 'Create an app',
      request: { body: { required: true, content: { 'application/json': { schema: z.strictObject({ name: z.string() }) } } } },
      responses: {
        201: { description: 'Created', content: { 'application/json': { schema: AppSchema } } },
        ...errorResponses(400, 401, 403, 409),
      },
    }),
    async (c) => {
      const p = c.get('principal');
      authorize(p, 'admin', 'global');
      const created = await deps.vault.createApp(c.req.valid('json').name, actorOf(p));
      return c.json({ id: created.id, name: created.name, created_at: created.createdAt }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps',
      summary: 'List apps (an app-scoped token sees its own app only)',
      responses: {
        200: { description: 'Apps', content: { 'application/json': { schema: z.object({ apps: z.array(AppSchema) }) } } },
        ...errorResponses(401),
      },
    }),
    async (c) => {
      const p = c.get('principal');
      const apps = (await deps.vault.listApps()).filter((a) => p.appName === null || a.name === p.appName);
      return c.json({ apps: apps.map((a) => ({ id: a.id, name: a.name, created_at: a.createdAt })) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/apps/{app}',
      summary: 'Destroy an app with its secrets and keys',
      request: { params: AppParam },
      responses: {
        200: { description: 'Destroyed', content: { 'application/json': { schema: z.object({ destroyed: z.string() }) } } },
        ...errorResponses(401, 403, 404),
      },
    }),
    async (c) => {
      const p = c.get('principal');
      const { app: name } = c.req.valid('param');
      authorize(p, 'admin', { app: name });
      await deps.vault.destroyApp(name, actorOf(p));
      deps.tokens.forgetPrincipals();
      return c.json({ destroyed: name }, 200);
    },
  );
}
