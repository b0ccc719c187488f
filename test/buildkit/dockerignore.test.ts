import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDockerignore, PatternMatcher } from '../../src/buildkit/filesync/dockerignore.js';
import { GoMode, goFileMode, walkDirectory, globMatch } from '../../src/buildkit/filesync/send.js';

describe('.dockerignore', () => {
  it('parses like Docker: comments, blanks, cleaning, leading slash, exceptions', () => {
    expect(parseDockerignore('\uFEFF# c\n\n node_modules/ \n/dist\n!dist/keep\n./a/../b\n**/*.log\r\n')).toEqual([
      'node_modules',
      'dist',
      '!dist/keep',
      'b',
      '**/*.log',
    ]);
  });

  const cases: [string[], string, boolean][] = [
    [['*.md'], 'README.md', true],
    [['*.md'], 'docs/README.md', false],
    [['**/*.md'], 'docs/a/README.md', true],
    [['**/*.md'], 'README.md', true],
    [['docs'], 'docs/a/b.txt', true],
    [['docs/**'], 'docs/a/b.txt', true],
    [['a?c'], 'abc', true],
    [['a?c'], 'a/c', false],
    [['*', '!keep'], 'keep', false],
    [['*', '!keep'], 'other', true],
    [['logs', '!logs/keep.log'], 'logs/keep.log', false],
    [['logs', '!logs/keep.log'], 'logs/other.log', true],
    [['!x', 'x'], 'x', true],
    [['[a-c].txt'], 'b.txt', true],
    [['[!a-c].txt'], 'b.txt', false],
    [['a.txt'], 'aXtxt', false],
    [['**'], 'any/thing', true],
    [['dir/**/deep'], 'dir/deep', true],
    [['dir/**/deep'], 'dir/x/y/deep', true],
  ];
  it.each(cases)('patterns %j on %s → excluded %s', (patterns, file, excluded) => {
    expect(new PatternMatcher(patterns).matches(file)).toBe(excluded);
  });

  it('rejects a bare "!" with a sentence', () => {
    expect(() => new PatternMatcher(['!'])).toThrow(/not valid/);
  });

  it('matches include globs like Go path.Match', () => {
    expect(globMatch('src/*.ts', 'src/a.ts')).toBe(true);
    expect(globMatch('src/*.ts', 'src/x/a.ts')).toBe(false);
    expect(globMatch('Dockerfile', 'Dockerfile')).toBe(true);
  });
});

describe('walking a context', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'hangar-walk-'));
    for (const d of ['b', 'a-b', 'a', 'a/z', 'skip', 'logs']) mkdirSync(path.join(dir, d), { recursive: true });
    for (const f of ['a/1', 'a/z/2', 'a-b/3', 'b/4', 'skip/5', 'logs/x.log', 'logs/keep.log', 'Z', '_']) writeFileSync(path.join(dir, f), f);
    chmodSync(path.join(dir, 'b/4'), 0o4755);
    symlinkSync('a/1', path.join(dir, 'ln'));
    linkSync(path.join(dir, 'a/1'), path.join(dir, 'hard'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const walk = async (filter = {}) => {
    const out = [];
    for await (const e of walkDirectory(dir, filter)) out.push(e);
    return out;
  };

  it('goes depth first with names in byte order, directories before their contents', async () => {
    const paths = (await walk()).map((e) => e.rel);
    expect(paths).toEqual(['Z', '_', 'a', 'a/1', 'a/z', 'a/z/2', 'a-b', 'a-b/3', 'b', 'b/4', 'hard', 'ln', 'logs', 'logs/keep.log', 'logs/x.log', 'skip', 'skip/5']);
  });

  it('sends Go file modes, symlink targets and hard links to the first name', async () => {
    const byPath = Object.fromEntries((await walk()).map((e) => [e.rel, e.stat]));
    expect(byPath['a']!.mode & GoMode.dir).toBeTruthy();
    expect(byPath['b/4']!.mode).toBe((GoMode.setuid | 0o755) >>> 0);
    expect(byPath['ln']!.mode & GoMode.symlink).toBeTruthy();
    expect(byPath['ln']!.linkname).toBe('a/1');
    expect(byPath['a/1']!.linkname).toBe('');
    expect(byPath['hard']!.linkname).toBe('a/1');
    expect(byPath['hard']!.size).toBe(0n);
    expect(byPath['a/z/2']!.size).toBe(5n);
    expect(byPath['a/z/2']!.modTime).toBeGreaterThan(1_600_000_000_000_000_000n);
    expect(goFileMode(0o040755)).toBe((GoMode.dir | 0o755) >>> 0);
  });

  it('applies exclude patterns with exceptions and include patterns', async () => {
    const ex = (await walk({ excludePatterns: ['skip', 'logs', '!logs/keep.log', '**/2'] })).map((e) => e.rel);
    expect(ex).not.toContain('skip');
    expect(ex).not.toContain('skip/5');
    expect(ex).not.toContain('a/z/2');
    expect(ex).toContain('logs');
    expect(ex).toContain('logs/keep.log');
    expect(ex).not.toContain('logs/x.log');
    const inc = (await walk({ includePatterns: ['a/z'] })).map((e) => e.rel);
    expect(inc).toEqual(['a', 'a/z', 'a/z/2']);
    const follow = (await walk({ includePatterns: ['Z'], followPaths: ['ln'] })).map((e) => e.rel);
    expect(follow).toEqual(['Z', 'a', 'a/1', 'ln']);
  });
});
