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
});
