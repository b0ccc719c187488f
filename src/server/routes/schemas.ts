// Shared request and response schemas; they are also the OpenAPI document.
import { z } from '@hono/zod-openapi';

export const ErrorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .openapi('Error');

export const AppParam = z.object({
  app: z.string().min(1).openapi({ param: { name: 'app', in: 'path' }, example: 'my-app' }),
});

export function errorResponses(...statuses: number[]) {
  const out: Record<number, { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } }> = {};
  for (const s of statuses) out[s] = { description: 'Error', content: { 'application/json': { schema: ErrorSchema } } };
  return out;
}
