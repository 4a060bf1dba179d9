import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  formatJoinToken, generateJoinToken, parseJoinToken, rotateJoinToken, tokenMatches,
} from '../../../manager/ca/join-token.js';
import { InvalidJoinTokenError } from '../../../manager/ca/ca-error.js';

const DIGEST = 'a'.repeat(64);
const fixed = (byte: number) => (n: number) => new Uint8Array(n).fill(byte);

test('a token is SWMTKN-1-<50 base-36 digest>-<25 base-36 secret>, as SwarmKit formats it', () => {
  const t = generateJoinToken(DIGEST, randomBytes);
  assert.match(t, /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
  // zero-padding: a zero digest and a zero secret
  assert.equal(generateJoinToken('0'.repeat(64), fixed(0)), `SWMTKN-1-${'0'.repeat(50)}-${'0'.repeat(25)}`);
  // the largest secret (2^128 - 1) is exactly 25 base-36 digits
  assert.equal(generateJoinToken('f'.repeat(64), fixed(0xff)).split('-')[3], (2n ** 128n - 1n).toString(36));
  assert.equal(generateJoinToken('f'.repeat(64), fixed(0xff)).split('-')[2], (2n ** 256n - 1n).toString(36));
});

test('parse gives back the digest (hex) and secret; v2 (FIPS) tokens parse too', () => {
  const t = generateJoinToken(DIGEST, randomBytes);
  const p = parseJoinToken(t);
  assert.deepEqual({ version: p.version, fips: p.fips, caDigest: p.caDigest }, { version: 1, fips: false, caDigest: DIGEST });
  assert.equal(p.secret, t.split('-')[3]);
  const v2 = generateJoinToken(DIGEST, randomBytes, true);
  assert.match(v2, /^SWMTKN-2-1-/);
  assert.equal(parseJoinToken(v2).fips, true);
  assert.equal(parseJoinToken(v2).caDigest, DIGEST);
});

test('malformed tokens are refused with an error naming the bad part', () => {
  const good = generateJoinToken(DIGEST, randomBytes);
  const [, , d, s] = good.split('-');
  const cases: [string, string][] = [
    ['XWMTKN-1-abc-def', 'prefix'],
    ['SWMTKN-1', 'prefix'],
    [`SWMTKN-3-${d}-${s}`, 'version'],
    [`SWMTKN-1-x-${d}-${s}`, 'parts'],
    [`SWMTKN-2-0-${d}-${s}`, 'parts'],
    [`SWMTKN-1-${d!.slice(1)}-${s}`, 'digest'],
    [`SWMTKN-1-${d!.slice(0, 49)}!-${s}`, 'digest'],
    [`SWMTKN-1-${'z'.repeat(50)}-${s}`, 'digest'],
    [`SWMTKN-1-${d}-${s!.slice(1)}`, 'secret'],
    [`SWMTKN-1-${d}-${s!.slice(0, 24)}A`, 'secret'],
  ];
  for (const [t, part] of cases) {
    assert.throws(() => parseJoinToken(t), (e) => e instanceof InvalidJoinTokenError && e.part === part && e.status === 400, `${t} → ${part}`);
  }
});

test('tokenMatches compares the secret; worker and manager tokens differ; rotation refuses the old one', () => {
  const worker = generateJoinToken(DIGEST, randomBytes);
  const manager = generateJoinToken(DIGEST, randomBytes);
  const ws = parseJoinToken(worker).secret;
  const ms = parseJoinToken(manager).secret;
  assert.notEqual(ws, ms);
  assert.equal(tokenMatches(worker, ws), true);
  assert.equal(tokenMatches(worker, ms), false);
  assert.equal(tokenMatches('garbage', ws), false);
  assert.equal(tokenMatches(worker, ws.slice(1)), false);
  const rotated = rotateJoinToken(worker, randomBytes);
  assert.equal(parseJoinToken(rotated).caDigest, DIGEST, 'rotation keeps the CA digest');
  const newSecret = parseJoinToken(rotated).secret;
  assert.equal(tokenMatches(rotated, newSecret), true);
  assert.equal(tokenMatches(worker, newSecret), false, 'the old token is refused');
});

test('formatJoinToken refuses a digest or secret of the wrong shape', () => {
  assert.throws(() => formatJoinToken('xyz', '0'.repeat(25)), RangeError);
  assert.throws(() => formatJoinToken(DIGEST, 'short'), RangeError);
});
