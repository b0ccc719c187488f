// Scans an image archive (`docker save` format: layers, config, history) for
// known secret values in the forms they usually leak in: raw, base64 (every
// byte alignment, standard and URL alphabets), hex (lower and upper case) and
// URL-encoded. Streams: memory is bounded by the longest pattern, not the image.
// It must never return, log or throw a secret value: a hit names the secret,
// the encoding and where it was found, nothing else.
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { archiveWalker, walkSavedImage, DOCKER_CLI } from './image-archive.js';
import type { TarEntry } from './tar.js';

export type LeakEncoding = 'raw' | 'base64' | 'base64url' | 'hex' | 'HEX' | 'url';

export interface LeakHit {
  secret: string;
  encoding: LeakEncoding;
  /** `layer sha256:<diff id>`, `config`, `history` or `manifest`. */
  where: string;
}

interface Pattern {
  secret: string;
  encoding: LeakEncoding;
  bytes: Buffer;
}

// Below this many bytes an encoded form matches random data too often to mean anything.
const MIN_ENCODED_LENGTH = 6;

/**
 * The stretches of base64 text that encoding `value` produces at each of the
 * three alignments inside a longer stream: only characters whose six bits all
 * come from `value` are kept.
 */
export function base64Forms(value: Buffer, alphabet: 'base64' | 'base64url' = 'base64'): string[] {
  const out: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), value]);
    const text = padded.toString(alphabet).replace(/=+$/, '');
    const first = Math.ceil((shift * 8) / 6);
    const last = Math.floor(((shift + value.length) * 8) / 6); // exclusive
    const form = text.slice(first, last);
    if (form.length > 0) out.push(form);
  }
  return out;
}

export function leakPatterns(secrets: ReadonlyMap<string, Buffer | string>): Pattern[] {
  const patterns: Pattern[] = [];
  const seen = new Set<string>();
  const add = (secret: string, encoding: LeakEncoding, bytes: Buffer) => {
    if (bytes.length === 0) return;
    if (encoding !== 'raw' && bytes.length < MIN_ENCODED_LENGTH) return;
    const key = `${secret}\0${bytes.toString('hex')}`;
    if (seen.has(key)) return;
    seen.add(key);
    patterns.push({ secret, encoding, bytes });
  };
  for (const [name, v] of secrets) {
    const value = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    if (value.length === 0) continue;
    add(name, 'raw', value);
    for (const f of base64Forms(value)) add(name, 'base64', Buffer.from(f, 'ascii'));
    for (const f of base64Forms(value, 'base64url')) add(name, 'base64url', Buffer.from(f, 'ascii'));
    add(name, 'hex', Buffer.from(value.toString('hex'), 'ascii'));
    add(name, 'HEX', Buffer.from(value.toString('hex').toUpperCase(), 'ascii'));
    const text = value.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(value)) {
      const enc = encodeURIComponent(text);
      if (enc !== text) add(name, 'url', Buffer.from(enc, 'ascii'));
      const form = enc.replace(/%20/g, '+');
      if (form !== enc) add(name, 'url', Buffer.from(form, 'ascii'));
    }
  }
  return patterns;
}

/** A streaming multi-pattern matcher that keeps only a tail of the previous chunk. */
export class PatternScanner {
  private tail: Buffer = Buffer.alloc(0);
  private readonly keep: number;
  readonly found = new Set<Pattern>();

  constructor(private readonly patterns: Pattern[]) {
    this.keep = Math.max(0, ...patterns.map((p) => p.bytes.length - 1));
  }

  write(chunk: Buffer): void {
    if (this.patterns.length === 0) return;
    const window = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    for (const p of this.patterns) {
      if (!this.found.has(p) && window.indexOf(p.bytes) !== -1) this.found.add(p);
    }
    this.tail = Buffer.from(window.subarray(Math.max(0, window.length - this.keep)));
  }
}

// Every string inside a JSON value, so that escaped characters (quotes,
// newlines) in a value are matched in their decoded form too.
function jsonStrings(v: unknown, out: string[]): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) jsonStrings(x, out);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      jsonStrings(x, out);
    }
  }
  return out;
}

function scanBytes(patterns: Pattern[], parts: Buffer[]): Set<Pattern> {
  const found = new Set<Pattern>();
  for (const part of parts) {
    for (const p of patterns) if (part.indexOf(p.bytes) !== -1) found.add(p);
  }
  return found;
}

export interface LeakScanResult {
  hits: LeakHit[];
  layers: number;
  bytesScanned: number;
}

/** Scans one image archive read from a stream of `docker save` bytes. */
export async function scanArchive(archive: Readable | AsyncIterable<Buffer>, secrets: ReadonlyMap<string, Buffer | string>): Promise<LeakScanResult> {
  const { collector, finish } = leakCollector(secrets);
  const walker = archiveWalker(collector);
  for await (const chunk of archive as AsyncIterable<Buffer>) walker.write(chunk);
  await walker.end();
  return finish();
}

/** Scans an image in the engine's store. */
export async function scanImage(image: string, secrets: ReadonlyMap<string, Buffer | string>, docker = DOCKER_CLI): Promise<LeakScanResult> {
  const { collector, finish } = leakCollector(secrets);
  await walkSavedImage(image, collector, docker);
  return finish();
}

function leakCollector(secrets: ReadonlyMap<string, Buffer | string>) {
  const patterns = leakPatterns(secrets);
  const hits: LeakHit[] = [];
  const seen = new Set<string>();
  const record = (found: Iterable<Pattern>, where: string) => {
    for (const p of found) {
      const key = `${p.secret}\0${p.encoding}\0${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      hits.push({ secret: p.secret, encoding: p.encoding, where });
    }
  };
  // Compressed layers are also scanned after inflating: names, link targets, contents.
  const layerState = new Map<string, { scanner: PatternScanner; hash: Hash; inflated?: PatternScanner; sniffed: boolean }>();
  let bytesScanned = 0;
  let layers = 0;
  const collector = {
    json(name: string, bytes: Buffer) {
      bytesScanned += bytes.length;
      let parsed: unknown;
      try {
        parsed = JSON.parse(bytes.toString('utf8'));
      } catch {
        record(scanBytes(patterns, [bytes]), name === 'manifest.json' || name === 'repositories' ? 'manifest' : 'config');
        return;
      }
      if (name === 'manifest.json' || name === 'repositories' || name === 'index.json' || name === 'oci-layout') {
        record(scanBytes(patterns, [bytes, Buffer.from(jsonStrings(parsed, []).join('\n'))]), 'manifest');
        return;
      }
      const obj = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
      const { history, ...rest } = obj;
      record(scanBytes(patterns, [Buffer.from(JSON.stringify(history ?? null)), Buffer.from(jsonStrings(history, []).join('\n'))]), 'history');
      record(scanBytes(patterns, [Buffer.from(JSON.stringify(rest)), Buffer.from(jsonStrings(rest, []).join('\n'))]), 'config');
    },
    layerStart(id: string) {
      layers++;
      layerState.set(id, { scanner: new PatternScanner(patterns), hash: createHash('sha256'), sniffed: false });
    },
    layerData(id: string, chunk: Buffer) {
      bytesScanned += chunk.length;
      const s = layerState.get(id)!;
      if (!s.sniffed) {
        s.sniffed = true;
        if (chunk[0] === 0x1f && chunk[1] === 0x8b) s.inflated = new PatternScanner(patterns);
      }
      s.scanner.write(chunk);
      s.hash.update(chunk);
    },
    layerEntry(id: string, entry: TarEntry) {
      layerState.get(id)?.inflated?.write(Buffer.from(`\n${entry.path}\n${entry.linkname}\n`));
    },
    layerEntryData(id: string, chunk: Buffer) {
      layerState.get(id)?.inflated?.write(chunk);
    },
    layerEnd(id: string) {
      const s = layerState.get(id)!;
      const where = `layer sha256:${s.hash.digest('hex')}`;
      record(s.scanner.found, where);
      if (s.inflated) record(s.inflated.found, where);
      layerState.delete(id);
    },
  };
  return { collector, finish: (): LeakScanResult => ({ hits, layers, bytesScanned }) };
}
