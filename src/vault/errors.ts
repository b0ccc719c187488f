// Domain failures the API maps to HTTP statuses: each is still a UserError,
// one sentence naming what is wrong and the fix, and never carries a value.
import { UserError } from '../errors.js';

export class NotFoundError extends UserError {
  readonly status = 404;
}

export class ConflictError extends UserError {
  readonly status = 409;
}
