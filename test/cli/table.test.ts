import { describe, expect, it } from 'vitest';
import { renderTable } from '../../src/cli/output/table.js';

describe('renderTable', () => {
  it('aligns columns by code points and trims trailing blanks', () => {
    const out = renderTable(['Name', 'Status'], [
      ['DATABASE_URL', 'Deployed'],
      ['KÉY', 'Staged'],
    ]);
    expect(out).toBe('NAME           STATUS\nDATABASE_URL   Deployed\nKÉY            Staged\n');
  });

  it('prints only the header for no rows', () => {
    expect(renderTable(['A', 'B'], [])).toBe('A   B\n');
  });
});
