// Drives the fixture corpus: one test per folder in test/fixtures/dockerfile/.
import { describe, expect, it } from 'vitest';
import { describeCase, listCases, readCase } from './corpus.js';

const cases = listCases();

describe('Dockerfile fixture corpus', () => {
  it('has at least 60 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  it.each(cases)('%s', (name) => {
    const { text, expected } = readCase(name);
    if (!expected) {
      throw new Error(`case ${name} has no expected.json; write one with npx tsx test/dockerfile/write-expected.ts ${name}`);
    }
    const actual = describeCase(text, expected.options ?? {}, expected.description);
    expect(actual).toEqual(expected);
  });
});
