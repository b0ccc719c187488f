// Generates the benchmark build context: 20,000 files, about 240 MB, in a
// nested tree, with deterministic pseudo-random (incompressible) content so
// that every run sends the same bytes. Never writes outside the given directory.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FILE_COUNT = 20_000;
export const TARGET_BYTES = 240 * 1024 * 1024;

// A counter-mode SHA-256 stream: cheap, deterministic, incompressible.
function bytesFor(seed: string, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let off = 0;
  for (let i = 0; off < size; i++) {
    const block = createHash('sha256').update(`${seed}:${i}`).digest();
    off += block.copy(out, off);
  }
  return out;
}

/** Sizes that sum to TARGET_BYTES: mostly small files and a few large ones, like a real repository. */
function sizeOf(i: number): number {
  const avg = Math.floor(TARGET_BYTES / FILE_COUNT); // ~12.6 KB
  const r = (i * 2654435761) % 1000;
  if (r < 10) return avg * 40; // 1%: ~500 KB assets
  if (r < 300) return Math.floor(avg * 1.3);
  return Math.floor(avg * 0.45);
}

export function contextPath(i: number): string {
  return join(`pkg${i % 20}`, `mod${Math.floor(i / 20) % 50}`, `file${i}.dat`);
}

/** Creates the context in `dir` unless a complete one is already there. Returns its total size. */
export function generateContext(dir: string): number {
  const marker = join(dir, '.bench-complete');
  if (existsSync(marker)) return Number(readFileSync(marker, 'utf8'));
  let total = 0;
  for (let i = 0; i < FILE_COUNT; i++) {
    const p = join(dir, contextPath(i));
    mkdirSync(join(p, '..'), { recursive: true });
    const size = sizeOf(i);
    writeFileSync(p, bytesFor(`file${i}`, size));
    total += size;
  }
  writeFileSync(join(dir, '.dockerignore'), '.bench-complete\n');
  writeFileSync(marker, String(total));
  return total;
}

/** Changes one file's content (a different seed each time) for the "one file changed" case. */
export function touchOneFile(dir: string, round: number): void {
  writeFileSync(join(dir, contextPath(12_345)), bytesFor(`changed-${round}-${Date.now()}`, 4096));
}
