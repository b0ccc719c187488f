// Who may do what: scopes rank read < deploy < admin; an app-scoped token may
// touch only its own app and nothing global. Checked before the app is looked
// up, so a token cannot even learn whether another app exists.
import type { Principal, Scope } from '../tokens.js';
import { ApiError } from '../http-error.js';

const RANK: Record<Scope, number> = { read: 1, deploy: 2, admin: 3 };

export function authorize(principal: Principal, need: Scope, target: { app: string } | 'global'): void {
  if (RANK[principal.scope] < RANK[need]) {
    throw new ApiError(403, 'forbidden', `this token has scope ${principal.scope} and this needs ${need}; use a token with that scope.`);
  }
  if (target === 'global' && principal.appName !== null) {
    throw new ApiError(403, 'forbidden', `this token is limited to app ${principal.appName}; use a token that is not app-scoped.`);
  }
  if (target !== 'global' && principal.appName !== null && principal.appName !== target.app) {
    throw new ApiError(403, 'forbidden', `this token is limited to app ${principal.appName}; use a token for app ${target.app}.`);
  }
}

export function actorOf(principal: Principal): { tokenId: string } {
  return { tokenId: principal.tokenId };
}
