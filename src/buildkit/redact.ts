// Removes the build's secret values from RUN output before anything shows or
// stores it: the raw bytes and their base64 forms, also when a value is split
// across two log chunks (a possible prefix at the end of a chunk is held back
// until the next chunk or the end of the stream).
//
// Must never: emit a byte sequence that contains a whole secret value.
export const REDACTED = Buffer.from('****');

export class SecretRedactor {
  readonly #patterns: Buffer[];
  readonly #pending = new Map<string, Buffer>();

  constructor(values: Iterable<Buffer>) {
    const set = new Map<string, Buffer>();
    for (const v of values) {
      if (v.length === 0) continue;
      for (const form of [Buffer.from(v), Buffer.from(v.toString('base64')), Buffer.from(v.toString('base64').replace(/=+$/, ''))]) {
        if (form.length > 0) set.set(form.toString('hex'), form);
      }
    }
    // Longest first so a value's base64 is not half-replaced by a shorter value.
    this.#patterns = [...set.values()].sort((a, b) => b.length - a.length);
  }

  get empty(): boolean {
    return this.#patterns.length === 0;
  }

  /** Redacts a whole string at once (error messages, names). */
  redactText(text: string): string {
    if (this.empty) return text;
    return this.#replace(Buffer.from(text)).toString();
  }

  /**
   * Redacts one chunk of the stream `key` (e.g. vertex + fd). Returns what is
   * safe to show now; a tail that could begin a secret waits for `flush`.
   */
  push(key: string, chunk: Buffer): Buffer {
    if (this.empty) return chunk;
    const prev = this.#pending.get(key);
    const joined = prev ? Buffer.concat([prev, chunk]) : chunk;
    const replaced = this.#replace(joined);
    const hold = this.#heldTail(replaced);
    if (hold > 0) this.#pending.set(key, replaced.subarray(replaced.length - hold));
    else this.#pending.delete(key);
    return replaced.subarray(0, replaced.length - hold);
  }

  /** Ends the stream `key`: what was held back is not a whole secret. */
  flush(key: string): Buffer {
    const rest = this.#pending.get(key);
    this.#pending.delete(key);
    return rest ?? Buffer.alloc(0);
  }

  /** Zeroes the patterns (copies of secret values) and held-back bytes; redacts nothing after. */
  wipe(): void {
    for (const p of this.#patterns) p.fill(0);
    for (const b of this.#pending.values()) b.fill(0);
    this.#patterns.length = 0;
    this.#pending.clear();
  }

  /** Keys with held-back bytes. */
  pendingKeys(): string[] {
    return [...this.#pending.keys()];
  }

  #replace(buf: Buffer): Buffer {
    let out = buf;
    for (const p of this.#patterns) {
      let at = out.indexOf(p);
      if (at < 0) continue;
      const parts: Buffer[] = [];
      let from = 0;
      while (at >= 0) {
        parts.push(out.subarray(from, at), REDACTED);
        from = at + p.length;
        at = out.indexOf(p, from);
      }
      parts.push(out.subarray(from));
      out = Buffer.concat(parts);
    }
    return out;
  }

  /** Length of the longest suffix of buf that is a proper prefix of some pattern. */
  #heldTail(buf: Buffer): number {
    let best = 0;
    for (const p of this.#patterns) {
      const max = Math.min(p.length - 1, buf.length);
      for (let n = max; n > best; n--) {
        if (buf.compare(p, 0, n, buf.length - n, buf.length) === 0) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
