// The HTTP API under /v1: request ids and structured access logs, content-type
// and size checks, bearer-token authentication with a per-address failure
// limit, and one error shape. Routes live in ./routes/, one file per resource;
// the OpenAPI document they declare is served at /v1/openapi.json.
// Never logs a body, a header value, a token or a secret value.
import { randomUUID } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { matchedRoutes } from 'hono/route';
import { isUserError } from '../errors.js';
import type { SecretVault } from '../vault/vault.js';
import { ApiError, errorBody, type ApiErrorStatus } from './http-error.js';
import type { ServerLog } from './log.js';
import type { AuthFailureLimiter } from './rate-limit.js';
import { registerAppRoutes } from './routes/apps.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerSecretRoutes } from './routes/secrets.js';
import { registerTokenRoutes } from './routes/tokens.js';
import type { Principal, TokenService } from './tokens.js';

/** A set of 1,000 secrets at once fits; a body this big is a mistake or an attack. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface ApiDeps {
  vault: SecretVault;
  tokens: TokenService;
  limiter: AuthFailureLimiter;
  log: ServerLog;
}

export interface ApiEnv {
  Bindings: HttpBindings;
  Variables: {
    requestId: string;
    principal: Principal;
  };
}

export type ApiApp = OpenAPIHono<ApiEnv>;

function describeValidation(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const first = issues[0];
  if (!first) return 'the request is invalid; check it against /v1/openapi.json.';
  const where = first.path.length ? `field ${first.path.map(String).join('.')}` : 'the request';
  return `${where} is invalid (${first.message.replace(/\.$/, '')}); check the request against /v1/openapi.json.`;
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Where an error was thrown: the top stack frames without the message line. */
function stackFrames(err: Error): string {
  return (err.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .slice(0, 4)
    .map((l) => l.trim())
    .join(' | ');
}

function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function requestLog(log: ServerLog): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const started = performance.now();
    const given = c.req.header('x-request-id');
    const requestId = given && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
    c.set('requestId', requestId);
    c.header('x-request-id', requestId);
    await next();
    // The route pattern (not the path) names the endpoint without the app or token ids in it.
    const handlers = matchedRoutes(c).filter((r) => r.method !== 'ALL');
    const route = handlers[handlers.length - 1]?.path ?? '';
    log.info('request', {
      request_id: requestId,
      method: c.req.method,
      route: route || 'unmatched',
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      token_id: c.get('principal')?.tokenId,
    });
  };
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const requireJson: MiddlewareHandler<ApiEnv> = async (c, next) => {
  if (BODY_METHODS.has(c.req.method)) {
    const length = c.req.header('content-length');
    const hasBody = (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (hasBody && type !== 'application/json') {
      throw new ApiError(415, 'unsupported_media_type', 'the request body must be JSON; send it with Content-Type: application/json.');
    }
  }
  await next();
};

function tooLarge(): ApiError {
  return new ApiError(413, 'body_too_large', `the request body is over ${MAX_BODY_BYTES / 1024 / 1024} MiB; send fewer secrets per call.`);
}

/**
 * Reads a request body straight from Node's socket stream, refusing it past MAX_BODY_BYTES, and
 * hands the text to Hono's body cache: cheaper than building a fetch Request for every write.
 */
const readBody: MiddlewareHandler<ApiEnv> = async (c, next) => {
  if (!BODY_METHODS.has(c.req.method)) return next();
  const declared = c.req.header('content-length');
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) throw tooLarge();
  const incoming = c.env.incoming;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  // Hono keeps body promises in this cache at run time, whatever its declared type says.
  (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(Buffer.concat(chunks, size).toString('utf8'));
  await next();
};

function authenticate(deps: ApiDeps): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const address = clientAddress(c);
    const wait = deps.limiter.retryAfter(address);
    if (wait > 0) {
      throw new ApiError(429, 'rate_limited', `too many failed authentication attempts from this address; try again in ${wait} seconds.`, {
        'retry-after': String(wait),
      });
    }
    const header = c.req.header('authorization');
    const m = header ? /^Bearer +(\S+) *$/i.exec(header) : null;
    if (!m) {
      deps.limiter.recordFailure(address);
      throw new ApiError(401, 'unauthenticated', 'no API token given; send it as Authorization: Bearer <token> (run `hangar auth login`).');
    }
    const principal = await deps.tokens.authenticate(m[1]!);
    if (!principal) {
      deps.limiter.recordFailure(address);
      throw new ApiError(401, 'unauthenticated', 'the API token is invalid, expired or revoked; log in with a valid one (`hangar auth login`).');
    }
    c.set('principal', principal);
    await next();
  };
}

export function createApi(deps: ApiDeps): ApiApp {
  const app: ApiApp = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return c.json(errorBody('invalid_request', describeValidation(result.error.issues)), 400);
      }
      return undefined;
    },
  });

  app.use('*', requestLog(deps.log));

  app.get('/v1/health', (c) => c.json({ status: 'ok' }));
  app.doc31('/v1/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Hangar API', version: '1' },
    security: [{ bearer: [] }],
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });

  const requireToken = authenticate(deps);
  app.use('/v1/*', async (c, next) => {
    // Health and the API description are public; everything else needs a token.
    if (c.req.path === '/v1/health' || c.req.path === '/v1/openapi.json') return next();
    return requireToken(c, next);
  });
  // Bodies are read only for authenticated callers, so strangers cannot make the server buffer them.
  app.use('/v1/*', requireJson);
  app.use('/v1/*', readBody);

  registerTokenRoutes(app, deps);
  registerAppRoutes(app, deps);
  registerSecretRoutes(app, deps);
  registerAuditRoutes(app, deps);

  app.notFound((c) =>
    c.json(errorBody('not_found', `there is no ${c.req.method} ${c.req.path} in this API; see /v1/openapi.json for the routes.`), 404),
  );

  app.onError((err, c) => {
    if (err instanceof ApiError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.json(errorBody(err.code, err.message), err.status);
    }
    if (isUserError(err)) {
      const status = ((err as { status?: number }).status ?? 400) as ApiErrorStatus;
      const code = status === 404 ? 'not_found' : status === 409 ? 'conflict' : 'invalid_request';
      return c.json(errorBody(code, err.message), status);
    }
    if (err instanceof HTTPException) {
      const status = err.status as ApiErrorStatus;
      const message = /malformed json/i.test(err.message)
        ? 'the request body is not valid JSON; send one JSON object.'
        : `the request was refused (${err.message || `HTTP ${status}`}); check it against /v1/openapi.json.`;
      return c.json(errorBody(status === 400 ? 'invalid_request' : 'http_error', message), status);
    }
    // The message is left out on purpose: a library's message may quote input, and input may be a value.
    deps.log.error('internal error', {
      request_id: c.get('requestId'),
      error: err instanceof Error ? err.name : 'unknown',
      code: errorCode(err),
      at: err instanceof Error ? stackFrames(err) : undefined,
    });
    return c.json(errorBody('internal', `the server failed to handle the request; see its log for request ${c.get('requestId')}.`), 500);
  });

  return app;
}
