import { describe, expect, it } from 'vitest';
import { envFrom, processWord, ShellSyntaxError } from '../../src/dockerfile/index.js';

const env = envFrom({ HOME: '/root', NAME: 'app', EMPTY: '', FILE: 'archive.tar.gz', SPACED: '  a  b  ', PATHS: 'a/b/c/d' });
const word = (w: string, escape = '\\') => processWord(w, env, { escape }).result;
const words = (w: string) => processWord(w, env).words;

describe('shell lexer: one word', () => {
  it.each([
    ['plain', 'plain'],
    ['$HOME/x', '/root/x'],
    ['${HOME}x', '/rootx'],
    ['$UNSET-x', '-x'],
    ['pre${NAME}post', 'preapppost'],
    ['$', '$'],
    ['$.', '$.'],
    ['a$1b', 'ab'],
    ["'$HOME'", '$HOME'],
    ['"$HOME"', '/root'],
    ["\"it's\"", "it's"],
    ["'say \"hi\"'", 'say "hi"'],
    ['\\$HOME', '$HOME'],
    ['"\\$HOME"', '$HOME'],
    ['"a\\tb"', 'a\\tb'],
    ['a\\ b', 'a b'],
    ['trailing\\', 'trailing'],
    ['${UNSET:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${EMPTY-fallback}', ''],
    ['${UNSET-fallback}', 'fallback'],
    ['${NAME:-fallback}', 'app'],
    ['${NAME:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET+alt}', ''],
    ['${UNSET:-${NAME:-x}}', 'app'],
    ['${NAME:?must be set}', 'app'],
    ['${EMPTY?}', ''],
    ['${FILE#*.}', 'tar.gz'],
    ['${FILE##*.}', 'gz'],
    ['${FILE%.*}', 'archive.tar'],
    ['${FILE%%.*}', 'archive'],
    ['${PATHS#a/}', 'b/c/d'],
    ['${PATHS/\\//-}', 'a-b/c/d'],
    ['${PATHS//\\//-}', 'a-b-c-d'],
    ['${FILE/?r/R}', 'Rchive.tar.gz'],
    ['${FILE//a/}', 'rchive.tr.gz'],
    ['${UNSET#x}', ''],
    ['\u00e9t\u00e9 $NAME', '\u00e9t\u00e9 app'],
  ])('%s → %s', (input, expected) => {
    expect(word(input)).toBe(expected);
  });

  it('uses a backtick escape when the Dockerfile asks for it', () => {
    expect(word('C:\\dir\\$NAME', '`')).toBe('C:\\dir\\app');
    expect(word('a`$NAME', '`')).toBe('a$NAME');
  });

  it.each([
    ['${}', /bad substitution/],
    ['${:x}', /bad substitution/],
    ['${NAME', /missing '}'/],
    ['${NAME:-x', /missing '}'/],
    ['"open', /matching double-quote/],
    ["'open", /matching single-quote/],
    ['${UNSET:?is required}', /UNSET: is required/],
    ['${UNSET?}', /UNSET: is not allowed to be unset/],
    ['${EMPTY:?}', /EMPTY: is not allowed to be empty/],
    ['${NAME:#x}', /unsupported modifier/],
    ['${NAME=x}', /unsupported modifier/],
    ['${NAME/x}', /missing '\/'/],
    ['${FILE#\\a}', /invalid escape/],
  ])('%s is an error', (input, re) => {
    expect(() => word(input)).toThrow(ShellSyntaxError);
    expect(() => word(input)).toThrow(re);
  });
});

describe('shell lexer: field splitting', () => {
  it.each([
    ['a b  c', ['a', 'b', 'c']],
    ['"a b" c', ['a b', 'c']],
    ['x${SPACED}y', ['x', 'a', 'b', 'y']],
    ['x"${SPACED}"y', ['x  a  b  y']],
    ["''", []],
    ['a\\ b c', ['a b', 'c']],
    ['<<EOF cat', ['<<EOF', 'cat']],
    ['<<  EOF > out', ['<<  EOF', '>', 'out']],
  ])('%s', (input, expected) => {
    expect(words(input)).toEqual(expected);
  });

  it('reports which variables were set and which were not', () => {
    const r = processWord('$NAME ${UNSET:-x} $HOME', env);
    expect([...r.matched].sort()).toEqual(['HOME', 'NAME']);
    expect([...r.unmatched]).toEqual(['UNSET']);
  });

  it('keeps unset references as written when asked', () => {
    expect(processWord('$UNSET ${UNSET} ${UNSET:-d} $NAME', env, { skipUnsetEnv: true }).result).toBe(
      '$UNSET ${UNSET} ${UNSET:-d} app',
    );
  });

  it('keeps quotes when asked, and can treat them as text', () => {
    expect(processWord('"a $NAME" \'b\'', env, { rawQuotes: true }).result).toBe('"a app" \'b\'');
    expect(processWord('"$NAME" \'$NAME\'', env, { skipProcessQuotes: true }).result).toBe('"app" \'app\'');
  });
});
