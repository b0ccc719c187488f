import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDotenv } from '../../src/client/dotenv.js';
import { UserError } from '../../src/errors.js';

const parse = (s: string) => parseDotenv(s).map((e) => [e.name, e.value.toString('utf8')]);

describe('dotenv parsing for `secrets import`', () => {
  it('reads plain, exported, quoted and commented lines', () => {
    const text = [
      '# a comment',
      'PLAIN=value',
      'export EXPORTED=yes',
      "SINGLE='lit $HOME \\n'",
      'DOUBLE="tab\\tnew\\nline \\"q\\" \\\\ \\$"',
      'SPACED =  trimmed value   # trailing comment',
      'HASH=a#b',
      'EMPTY=',
      'EMPTYQ=""',
      '',
    ].join('\n');
    expect(parse(text)).toEqual([
      ['PLAIN', 'value'],
      ['EXPORTED', 'yes'],
      ['SINGLE', 'lit $HOME \\n'],
      ['DOUBLE', 'tab\tnew\nline "q" \\ $'],
      ['SPACED', 'trimmed value'],
      ['HASH', 'a#b'],
      ['EMPTY', ''],
      ['EMPTYQ', ''],
    ]);
  });

  it('keeps multi-line quoted values and counts lines across them', () => {
    const text = 'KEY="-----BEGIN KEY-----\nabc\n-----END KEY-----"\nNEXT=1\r\nCRLF=2\r\n';
    const entries = parseDotenv(text);
    expect(entries.map((e) => [e.name, e.value.toString('utf8'), e.line])).toEqual([
      ['KEY', '-----BEGIN KEY-----\nabc\n-----END KEY-----', 1],
      ['NEXT', '1', 4],
      ['CRLF', '2', 5],
    ]);
  });

  it('keeps UTF-8 values as their bytes', () => {
    expect(parseDotenv('EMOJI="héllo ☃"')[0]!.value.equals(Buffer.from('héllo ☃', 'utf8'))).toBe(true);
  });

  it('names the line of a bad entry and never echoes a value', () => {
    const cases: [string, RegExp][] = [
      ['GOOD=1\nnot a pair\n', /line 2 .*not NAME=VALUE/],
      ['1BAD=x', /line 1 has an invalid secret name/],
      ['OPEN="never closed secretvalue', /OPEN .*no closing "/],
      ['TRAIL="x" secretvalue', /text after the closing quote of TRAIL/],
    ];
    for (const [text, re] of cases) {
      let err: unknown;
      try {
        parseDotenv(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('secretvalue');
    }
  });

  it('reads back any value written double-quoted with escapes, multi-line included', () => {
    const quote = (v: string) => `"${v.replace(/[\\"$]/g, (c) => `\\${c}`).replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/), fc.string({ unit: 'grapheme', maxLength: 40 })), { maxLength: 6 }), (pairs) => {
        const text = pairs.map(([k, v]) => `${k}=${quote(v)}`).join('\n');
        expect(parse(text)).toEqual(pairs);
      }),
      { numRuns: 300 },
    );
  });
});
