// The two kinds of failure Hangar reports. A UserError is the user's mistake:
// one sentence naming what is wrong and how to fix it, exit 1, no stack trace.
// Anything else is an internal failure: reported as a bug, exit 2.
// Messages must never contain a secret value or a token.

export class UserError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
  }
}

export class InternalError extends Error {
  readonly exitCode: number = 2;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InternalError';
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
