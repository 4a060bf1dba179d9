import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processWord, processWords, ShellLexError } from '../../../worker/engine/build/shell-lex.js';

const env = new Map([
  ['A', 'alpha'],
  ['EMPTY', ''],
  ['SPACED', 'x y'],
]);

test('variables expand in bare words and double quotes but not in single quotes', () => {
  assert.equal(processWord('$A', env), 'alpha');
  assert.equal(processWord('${A}-b', env), 'alpha-b');
  assert.equal(processWord('"$A b"', env), 'alpha b');
  assert.equal(processWord("'$A'", env), '$A');
  assert.equal(processWord('\\$A', env), '$A');
  assert.equal(processWord('"\\$A"', env), '$A');
  assert.equal(processWord('$UNSET', env), '');
  assert.equal(processWord('a$', env), 'a$');
  assert.equal(processWord('$1x', env), 'x');
});

test('the ${VAR:-word} family follows the shell: colon forms treat empty as unset', () => {
  assert.equal(processWord('${UNSET:-def}', env), 'def');
  assert.equal(processWord('${EMPTY:-def}', env), 'def');
  assert.equal(processWord('${EMPTY-def}', env), '');
  assert.equal(processWord('${UNSET-def}', env), 'def');
  assert.equal(processWord('${A:-def}', env), 'alpha');
  assert.equal(processWord('${A:+alt}', env), 'alt');
  assert.equal(processWord('${EMPTY:+alt}', env), '');
  assert.equal(processWord('${EMPTY+alt}', env), 'alt');
  assert.equal(processWord('${UNSET:-${A}/x}', env), 'alpha/x');
  assert.equal(processWord('${A:?must be set}', env), 'alpha');
  assert.throws(() => processWord('${UNSET:?must be set}', env), (e: unknown) => e instanceof ShellLexError && e.message === 'UNSET: must be set');
  assert.throws(() => processWord('${A%x}', env), /unsupported modifier \(%\) in substitution of A/);
  assert.throws(() => processWord('${A', env), /missing '}'/);
  assert.throws(() => processWord("'open", env), /matching single-quote/);
});

test('words split on unquoted blanks, including blanks that come from an expansion', () => {
  assert.deepEqual(processWords('a "b c"  d', env), ['a', 'b c', 'd']);
  assert.deepEqual(processWords('$SPACED z', env), ['x', 'y', 'z']);
  assert.deepEqual(processWords('"$SPACED" z', env), ['x y', 'z']);
  assert.deepEqual(processWords('a\\ b', env), ['a b']);
});

test('the backtick escape leaves backslashes alone', () => {
  assert.equal(processWord('c:\\dir\\$A', env, '`'), 'c:\\dir\\alpha');
  assert.equal(processWord('`$A', env, '`'), '$A');
});
