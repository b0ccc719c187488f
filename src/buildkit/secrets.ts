// The build's secrets, held in memory for one build and served to BuildKit
// over the session's Secrets/GetSecret. Values are Buffers so they can be
// zeroed when the build ends; every fetch is recorded by id and digest.
//
// Must never: expose a value except through `lookup` (the session answer) and
// `values` (the redactor), put a value in an error message or in the audit
// record, or keep a value after `wipe`.
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import type { SecretFetch } from './api.js';

/** BuildKit refuses larger secrets; checked here so the user hears it first. */
export const SECRET_MAX_BYTES = 500 * 1024;

const SECRET_ID = /^[A-Za-z0-9_.-]{1,128}$/;

export class SecretStore {
  readonly #values = new Map<string, Buffer>();
  readonly #fetches: SecretFetch[] = [];
  #wiped = false;

  /** Adds a secret; the store keeps its own copy and the caller may zero theirs. */
  set(id: string, value: Buffer | Uint8Array | string): void {
    if (this.#wiped) throw new UserError('this build has ended and its secrets were wiped; start a new build to add secrets.');
    if (!SECRET_ID.test(id)) {
      throw new UserError(`secret id ${JSON.stringify(id.slice(0, 140))} is not valid; use letters, digits, '_', '.' or '-' (at most 128).`);
    }
    const copy = Buffer.alloc(typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength);
    if (typeof value === 'string') copy.write(value);
    else copy.set(value);
    if (copy.length > SECRET_MAX_BYTES) {
      copy.fill(0);
      throw new UserError(`secret ${id} is larger than BuildKit's 500 KiB limit; store a smaller value or mount a file from the context instead.`);
    }
    this.#values.get(id)?.fill(0);
    this.#values.set(id, copy);
  }

  has(id: string): boolean {
    return this.#values.has(id);
  }

  /** Ids only, sorted. */
  ids(): string[] {
    return [...this.#values.keys()].sort();
  }

  /**
   * The session's answer to GetSecret: the value, or undefined for an unknown
   * id. Records the fetch either way.
   */
  lookup(id: string): Buffer | undefined {
    const value = this.#values.get(id);
    this.#fetches.push(
      value
        ? { id, digest: `sha256:${createHash('sha256').update(value).digest('hex')}`, time: new Date(), found: true }
        : { id, time: new Date(), found: false },
    );
    return value;
  }

  /** Every GetSecret so far: id, digest of the value served, time. */
  fetches(): SecretFetch[] {
    return this.#fetches.map((f) => ({ ...f }));
  }

  /** The raw values, for redacting output. Do not keep them. */
  values(): Buffer[] {
    return [...this.#values.values()];
  }

  /** Zeroes every value and forgets them; later lookups find nothing. */
  wipe(): void {
    for (const v of this.#values.values()) v.fill(0);
    this.#values.clear();
    this.#wiped = true;
  }

  get wiped(): boolean {
    return this.#wiped;
  }

  // A store printed by accident shows ids, never values.
  toJSON(): { ids: string[] } {
    return { ids: this.ids() };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SecretStore { ids: [${this.ids().join(', ')}] }`;
  }
}
