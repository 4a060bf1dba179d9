/**
 * Autolock's key-encryption key (KEK): the swarm's unlock key, 32 random bytes shown as
 * `SWMKEY-1-<base64, no padding>` (SwarmKit's encryption.HumanReadableKey), and the encryption of a
 * manager's TLS private key on disk with it: PKCS#8 "ENCRYPTED PRIVATE KEY" (PBES2: PBKDF2-HMAC-SHA256
 * + AES-256-CBC, node's OpenSSL), the key bytes as the passphrase — as SwarmKit's keyutils/pkcs8 does.
 * A decrypted key is accepted only if its public key is the certificate's (CBC alone has no
 * integrity: this check makes sure nothing but the certificate's key is ever used). Pure but for node:crypto; randomness is passed in.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';

export const UNLOCK_KEY_PREFIX = 'SWMKEY-1-';
export const UNLOCK_KEY_BYTES = 32;

/** Docker's message for a malformed unlock key (moby answers 400). */
export const INVALID_KEY_STRING = 'invalid key string';

/** Why a key file cannot be opened: no key given yet, or the key given does not open it. */
export class KeyLockedError extends Error {
  constructor(
    readonly reason: 'locked' | 'invalid-key',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KeyLockedError';
  }
}

/** The key file opens but holds another key than the certificate's. */
export class KeyMismatchError extends Error {
  constructor() {
    super('the node key on disk is not the key of the node certificate');
    this.name = 'KeyMismatchError';
  }
}

/** A malformed `SWMKEY-1-…` string. */
export class UnlockKeyFormatError extends Error {
  constructor() {
    super(INVALID_KEY_STRING);
    this.name = 'UnlockKeyFormatError';
  }
}

/** `SWMKEY-1-` + base64 without padding. */
export function formatUnlockKey(key: Uint8Array): string {
  return UNLOCK_KEY_PREFIX + Buffer.from(key).toString('base64').replace(/=+$/, '');
}

/** The key bytes of a `SWMKEY-1-…` string (surrounding white space ignored); throws UnlockKeyFormatError. */
export function parseUnlockKey(text: string): Buffer {
  const t = text.trim();
  if (!t.startsWith(UNLOCK_KEY_PREFIX)) throw new UnlockKeyFormatError();
  const b64 = t.slice(UNLOCK_KEY_PREFIX.length);
  // Go's RawStdEncoding: the standard alphabet, no padding
  if (b64 === '' || !/^[A-Za-z0-9+/]*$/.test(b64) || b64.length % 4 === 1) throw new UnlockKeyFormatError();
  return Buffer.from(b64, 'base64');
}

/** A new unlock key from `randomBytes`. */
export function generateUnlockKey(randomBytes: (n: number) => Uint8Array): Buffer {
  const k = Buffer.from(randomBytes(UNLOCK_KEY_BYTES));
  if (k.length !== UNLOCK_KEY_BYTES) throw new Error(`randomBytes gave ${k.length} bytes, want ${UNLOCK_KEY_BYTES}`);
  return k;
}

const ENCRYPTED_LABEL = '-----BEGIN ENCRYPTED PRIVATE KEY-----';

/** Whether a key file's PEM is encrypted (needs an unlock key). */
export function isEncryptedKeyPem(pem: string): boolean {
  return pem.includes(ENCRYPTED_LABEL);
}

/** The clear PKCS#8 PEM `keyPem` encrypted under `kek`. */
export function encryptKeyPem(keyPem: string, kek: Buffer): string {
  return createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: kek }).toString();
}

/**
 * The clear PKCS#8 PEM of a stored key: as is when it is not encrypted, else decrypted with `kek`.
 * Throws KeyLockedError('locked') without a KEK, ('invalid-key') when `kek` does not open it, and
 * KeyMismatchError when it opens to a key that is not `certPem`'s.
 */
export function decryptKeyPem(pem: string, kek: Buffer | undefined, certPem?: string): string {
  if (!isEncryptedKeyPem(pem)) return pem;
  if (!kek) throw new KeyLockedError('locked', 'the node key is encrypted: the swarm is locked');
  let clear: string;
  try {
    clear = createPrivateKey({ key: pem, format: 'pem', passphrase: kek }).export({ type: 'pkcs8', format: 'pem' }).toString();
  } catch (e) {
    throw new KeyLockedError('invalid-key', 'the unlock key does not decrypt the node key', { cause: e });
  }
  if (certPem !== undefined && !keyMatchesCertificate(clear, certPem)) {
    // the key opened (a wrong KEK practically never yields a valid key), but it is not the
    // certificate's: a torn renewal (key written, certificate not), not a wrong unlock key
    throw new KeyMismatchError();
  }
  return clear;
}

/** Whether `keyPem` (clear) is the private key of `certPem`'s public key. */
export function keyMatchesCertificate(keyPem: string, certPem: string): boolean {
  try {
    const spki = (k: ReturnType<typeof createPublicKey>): string => k.export({ type: 'spki', format: 'der' }).toString('base64');
    return spki(createPublicKey(createPrivateKey(keyPem))) === spki(new X509Certificate(certPem).publicKey);
  } catch {
    return false;
  }
}

/** Constant-length comparison of two optional keys (undefined = no key). */
export function sameKek(a: Buffer | undefined, b: Buffer | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.equals(b);
}
