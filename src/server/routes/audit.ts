// /v1/audit: who did what to which secret (names and digests, never values).
// An app-scoped admin token sees its own app's entries only.
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp, ApiDeps } from '../app.js';
import { ApiError } from '../http-error.js';
import { authorize } from './authorize.js';
import { errorResponses } from './schemas.js';

const EntrySchema = z
  .object({
    id: z.number(),
    time: z.string(),
    token_id: z.string().nullable(),
    action: z.string(),
    app: z.string().nullable(),
    name: z.string().nullable(),
    digest: z.string().nullable(),
    build_id: z.string().nullable(),
  })
  .openapi('AuditEntry');

export function registerAuditRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/audit',
      summary: 'The most recent audit entries, oldest first',
      request: {
        query: z.object({
          app: z.string().optional(),
          limit: z.string().regex(/^[0-9]{1,5}$/).optional(),
        }),
      },
      responses: {
        200: { description: 'Entries', content: { 'application/json': { schema: z.object({ entries: z.array(EntrySchema) }) } } },
        ...errorResponses(400, 401, 403),
      },
    }),
    async (c) => {
      const p = c.get('principal');
      const q = c.req.valid('query');
      const appName = q.app ?? p.appName ?? undefined;
      authorize(p, 'admin', appName ? { app: appName } : 'global');
      const limit = q.limit ? Number(q.limit) : 1000;
      if (limit < 1 || limit > 10000) throw new ApiError(400, 'invalid_request', 'limit must be between 1 and 10000.');
      const entries = await deps.vault.audit({ app: appName, limit });
      return c.json({ entries }, 200);
    },
  );
}
