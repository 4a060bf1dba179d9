import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IgnoreMatcher, patternToRegExp, cleanRel } from '../../../worker/engine/build/path-match.js';

test('COPY wildcards follow Go filepath.Match: * and ? stay within one path component', () => {
  const re = (p: string): RegExp => patternToRegExp(p, false);
  assert.ok(re('*.txt').test('a.txt'));
  assert.ok(!re('*.txt').test('dir/a.txt'));
  assert.ok(re('dir/*.txt').test('dir/a.txt'));
  assert.ok(re('file?.md').test('file1.md'));
  assert.ok(!re('file?.md').test('file10.md'));
  assert.ok(re('[a-c]x').test('bx'));
  assert.ok(!re('[!a-c]x').test('bx'));
  assert.ok(re('a\\*b').test('a*b'));
  assert.ok(!re('a\\*b').test('axb'));
});

test('.dockerignore: a directory pattern covers its subtree, ** spans directories, the last match wins', () => {
  const m = IgnoreMatcher.parse('# comment\n\nlogs\n**/*.tmp\n!keep.tmp\n/secret.txt\nbuild/**\n!build/keep/**\n');
  assert.ok(m.matches('logs'));
  assert.ok(m.matches('logs/a/b.log'));
  assert.ok(m.matches('x.tmp'));
  assert.ok(m.matches('deep/down/x.tmp'));
  assert.ok(!m.matches('keep.tmp'));
  assert.ok(m.matches('secret.txt'));
  assert.ok(!m.matches('other/secret.txt'));
  assert.ok(m.matches('build/out.o'));
  assert.ok(!m.matches('build/keep/x'));
  assert.ok(!m.matches('app.txt'));
  assert.ok(!m.matches(''));
  assert.ok(m.hasExceptions());
  assert.ok(IgnoreMatcher.parse('').empty);
});

test('paths are cleaned the way Go cleans them', () => {
  assert.equal(cleanRel('./a//b/../c/'), 'a/c');
  assert.equal(cleanRel('/'), '');
  assert.equal(cleanRel('../x'), 'x');
});
