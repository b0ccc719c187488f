// Temporary build contexts for tests: a directory with the given files,
// removed by the returned cleanup.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface TempContext {
  dir: string;
  path(name: string): string;
  cleanup(): void;
}

export function tempContext(files: Record<string, string | Buffer>): TempContext {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-build-test-'));
  for (const [name, content] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return { dir, path: (n) => join(dir, n), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
