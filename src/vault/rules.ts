// The naming and size rules for apps and secrets, shared by the server (which
// enforces them) and the CLI (which checks early). Messages name the offending
// name, never a value.
import { UserError } from '../errors.js';

export const APP_NAME_PATTERN = /^[a-z][a-z0-9-]{1,62}$/;
export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const SECRET_NAME_MAX = 255;
/** BuildKit refuses secrets over 500 KiB, so the vault does too. */
export const SECRET_VALUE_MAX_BYTES = 500 * 1024;

function shown(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}

export function checkAppName(name: string): void {
  if (!APP_NAME_PATTERN.test(name)) {
    throw new UserError(
      `app name ${shown(name)} is invalid; use 2 to 63 characters: a lower-case letter, then lower-case letters, digits or hyphens.`,
    );
  }
}

export function checkSecretName(name: string): void {
  if (name === '') throw new UserError('a secret name is empty; names match [A-Za-z_][A-Za-z0-9_]*.');
  if (name.length > SECRET_NAME_MAX || !SECRET_NAME_PATTERN.test(name)) {
    throw new UserError(`secret name ${shown(name)} is invalid; names match [A-Za-z_][A-Za-z0-9_]* (at most ${SECRET_NAME_MAX} characters).`);
  }
}

export function checkSecretValue(name: string, value: Buffer): void {
  if (value.length > SECRET_VALUE_MAX_BYTES) {
    throw new UserError(`the value of ${name} is ${value.length} bytes, over the 500 KiB (512000 bytes) limit; store a smaller value or a reference to it.`);
  }
}

export function checkDistinctNames(names: readonly string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new UserError(`secret ${n} is given twice; give each name once per call.`);
    seen.add(n);
  }
}
