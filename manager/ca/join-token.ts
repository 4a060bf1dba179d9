/**
 * Join tokens, in SwarmKit's encoding (ca/config.go GenerateJoinToken / ParseJoinToken):
 *   SWMTKN-1-<sha256 of the root CA, base 36, zero-padded to 50>-<128-bit secret, base 36, padded to 25>
 *   SWMTKN-2-1-<digest>-<secret>   (v2: the cluster mandates FIPS)
 * A cluster has two secrets, one for workers and one for managers; rotating one gives a new secret
 * and the old token is refused from then on. Secrets are compared in constant time.
 */
import { timingSafeEqual } from 'node:crypto';
import { InvalidJoinTokenError } from './ca-error.js';

const DIGEST_LEN = 50;
const SECRET_LEN = 25;
const SECRET_BYTES = 16;
const BASE36 = /^[0-9a-z]+$/;

export interface ParsedJoinToken {
  version: 1 | 2;
  fips: boolean;
  /** sha256 of the root CA certificate, 64 hex digits */
  caDigest: string;
  /** 25 base-36 digits */
  secret: string;
}

/** A fresh secret from `randomBytes` (which must give cryptographically random bytes). */
export function generateJoinSecret(randomBytes: (n: number) => Uint8Array): string {
  const b = randomBytes(SECRET_BYTES);
  if (b.length !== SECRET_BYTES) throw new RangeError(`randomBytes gave ${b.length} bytes, want ${SECRET_BYTES}`);
  return toBase36(b).padStart(SECRET_LEN, '0');
}

export function formatJoinToken(rootDigestHex: string, secret: string, fips = false): string {
  if (!/^[0-9a-f]{64}$/.test(rootDigestHex)) throw new RangeError('root digest must be 64 lower-case hex digits');
  if (secret.length !== SECRET_LEN || !BASE36.test(secret)) throw new RangeError('secret must be 25 base-36 digits');
  const digest = BigInt(`0x${rootDigestHex}`).toString(36).padStart(DIGEST_LEN, '0');
  return fips ? `SWMTKN-2-1-${digest}-${secret}` : `SWMTKN-1-${digest}-${secret}`;
}

export function generateJoinToken(rootDigestHex: string, randomBytes: (n: number) => Uint8Array, fips = false): string {
  return formatJoinToken(rootDigestHex, generateJoinSecret(randomBytes), fips);
}

/** The same CA digest with a new secret: the old token stops working once the cluster stores this one. */
export function rotateJoinToken(token: string, randomBytes: (n: number) => Uint8Array): string {
  const p = parseJoinToken(token);
  return formatJoinToken(p.caDigest, generateJoinSecret(randomBytes), p.fips);
}

/** Parses a token; throws InvalidJoinTokenError naming the malformed part. */
export function parseJoinToken(token: string): ParsedJoinToken {
  if (typeof token !== 'string') throw new InvalidJoinTokenError('prefix', 'not a string');
  const parts = token.split('-');
  if (parts.length < 4 || parts[0] !== 'SWMTKN') throw new InvalidJoinTokenError('prefix', "does not start with 'SWMTKN-'");
  let version: 1 | 2;
  let fips = false;
  if (parts[1] === '1') {
    if (parts.length !== 4) throw new InvalidJoinTokenError('parts', `version 1 has 4 dash-separated parts, got ${parts.length}`);
    version = 1;
  } else if (parts[1] === '2') {
    if (parts.length !== 5 || parts[2] !== '1') throw new InvalidJoinTokenError('parts', "version 2 is 'SWMTKN-2-1-<digest>-<secret>'");
    version = 2;
    fips = true;
  } else {
    throw new InvalidJoinTokenError('version', `unknown version '${parts[1]}'`);
  }
  const digest = parts[parts.length - 2]!;
  const secret = parts[parts.length - 1]!;
  if (digest.length !== DIGEST_LEN || !BASE36.test(digest)) {
    throw new InvalidJoinTokenError('digest', `CA digest must be ${DIGEST_LEN} base-36 digits`);
  }
  const d = parseBase36(digest);
  if (d >= 1n << 256n) throw new InvalidJoinTokenError('digest', 'CA digest is larger than 256 bits');
  if (secret.length !== SECRET_LEN || !BASE36.test(secret)) {
    throw new InvalidJoinTokenError('secret', `secret must be ${SECRET_LEN} base-36 digits`);
  }
  return { version, fips, caDigest: d.toString(16).padStart(64, '0'), secret };
}

/** Whether the token's secret is `expectedSecret`, compared in constant time. Malformed → false. */
export function tokenMatches(token: string, expectedSecret: string): boolean {
  let p: ParsedJoinToken;
  try {
    p = parseJoinToken(token);
  } catch {
    return false;
  }
  return secretsEqual(p.secret, expectedSecret);
}

export function secretsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.length !== y.length) {
    timingSafeEqual(x, x); // same work either way
    return false;
  }
  return timingSafeEqual(x, y);
}

/** The secret part of a stored token (for callers that keep whole tokens, as Cluster.JoinTokens does). */
export function secretOf(token: string): string {
  return parseJoinToken(token).secret;
}

function toBase36(b: Uint8Array): string {
  return BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`).toString(36);
}

function parseBase36(s: string): bigint {
  let n = 0n;
  for (const ch of s) n = n * 36n + BigInt(parseInt(ch, 36));
  return n;
}
