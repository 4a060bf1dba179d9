/**
 * The cryptography that keeps secret data out of the Raft log and snapshots in clear. Pure functions:
 * every random byte is passed in.
 *
 * - A cluster data-encryption key (DEK, 32 bytes) seals each secret's bytes with AES-256-GCM. The
 *   nonce is HMAC-SHA256(DEK, secret ID ‖ data) cut to 12 bytes (a synthetic IV): sealing is
 *   deterministic, so every replica holds the same bytes and an update can check "same data" by
 *   sealing again; two different (ID, data) pairs never share a nonce. The secret ID is the AAD, so a
 *   sealed blob cannot be moved to another secret.
 * - The DEK itself is never stored in clear: it is wrapped once per manager for that manager's TLS key
 *   (ECDH P-256 with a fresh ephemeral key, HKDF-SHA256, AES-256-GCM). Only a holder of a manager's
 *   private key (certificates/swarm-node.key, outside Raft) can unwrap it.
 */
import { createECDH, createCipheriv, createDecipheriv, createHash, createHmac, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';

export const DEK_BYTES = 32;
const SEALED_PREFIX = 'v1';
const WRAP_INFO = Buffer.from('shoal secrets DEK wrap v1');

/** A DEK wrapped for one manager. Stored in the Cluster object (replicated, harmless without the key). */
export interface WrappedKey {
  /** which DEK this is (the cluster may rotate to a new one) */
  KeyID: string;
  /** sha256 (hex) of the recipient's SubjectPublicKeyInfo DER: which manager key can unwrap it */
  Recipient: string;
  /** the ephemeral P-256 public point (uncompressed, base64) */
  Epk: string;
  /** base64 of AES-256-GCM ciphertext ‖ 16-byte tag (the IV is zero: every KEK is used once) */
  Data: string;
}

export class SecretCryptoError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretCryptoError';
  }
}

/** sha256 (hex) of a public key's SPKI DER. */
export function publicKeyFingerprint(pub: KeyObject): string {
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex');
}

function rawPoint(pub: KeyObject): Buffer {
  const jwk = pub.export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) throw new SecretCryptoError('manager key: not an EC P-256 key');
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
}

function kek(shared: Buffer, epk: Buffer, keyId: string, recipient: string): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, epk, Buffer.concat([WRAP_INFO, Buffer.from(`\0${keyId}\0${recipient}`)]), 32));
}

/** Wraps `dek` for the holder of `recipient`'s private key. `ephemeral` is 32 random bytes. */
export function wrapKey(dek: Buffer, keyId: string, recipient: KeyObject, ephemeral: Buffer): WrappedKey {
  if (dek.length !== DEK_BYTES) throw new SecretCryptoError(`DEK must be ${DEK_BYTES} bytes`);
  const pub = recipient.type === 'private' ? createPublicKey(recipient) : recipient;
  const fp = publicKeyFingerprint(pub);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(ephemeral);
  const epk = ecdh.getPublicKey();
  const shared = ecdh.computeSecret(rawPoint(pub));
  const c = createCipheriv('aes-256-gcm', kek(shared, epk, keyId, fp), Buffer.alloc(12));
  const ct = Buffer.concat([c.update(dek), c.final(), c.getAuthTag()]);
  return { KeyID: keyId, Recipient: fp, Epk: epk.toString('base64'), Data: ct.toString('base64') };
}

/** Unwraps a DEK with the recipient's private key. Throws SecretCryptoError if it is not this key's. */
export function unwrapKey(w: WrappedKey, privateKey: KeyObject): Buffer {
  const fp = publicKeyFingerprint(createPublicKey(privateKey));
  if (w.Recipient !== fp) throw new SecretCryptoError('the secrets key was wrapped for another manager key');
  const jwk = privateKey.export({ format: 'jwk' });
  if (!jwk.d) throw new SecretCryptoError('manager key: not an EC private key');
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(jwk.d, 'base64url'));
    const epk = Buffer.from(w.Epk, 'base64');
    const shared = ecdh.computeSecret(epk);
    const data = Buffer.from(w.Data, 'base64');
    const d = createDecipheriv('aes-256-gcm', kek(shared, epk, w.KeyID, fp), Buffer.alloc(12));
    d.setAuthTag(data.subarray(data.length - 16));
    const dek = Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]);
    if (dek.length !== DEK_BYTES) throw new Error(`unwrapped key has ${dek.length} bytes`);
    return dek;
  } catch (e) {
    throw new SecretCryptoError(`the secrets key does not unwrap: ${(e as Error).message}`, { cause: e });
  }
}

/** Seals a secret's bytes: "v1:<keyId>:<base64 nonce ‖ ciphertext ‖ tag>". Deterministic. */
export function sealData(dek: Buffer, keyId: string, secretId: string, data: Buffer): string {
  const nonce = createHmac('sha256', dek).update(`nonce\0${secretId}\0`).update(data).digest().subarray(0, 12);
  const c = createCipheriv('aes-256-gcm', dek, nonce);
  c.setAAD(Buffer.from(secretId));
  const body = Buffer.concat([nonce, c.update(data), c.final(), c.getAuthTag()]);
  return `${SEALED_PREFIX}:${keyId}:${body.toString('base64')}`;
}

/** The key ID a sealed value was sealed with. */
export function sealedKeyId(sealed: string): string {
  const parts = sealed.split(':');
  if (parts.length !== 3 || parts[0] !== SEALED_PREFIX || parts[1] === '') throw new SecretCryptoError('sealed secret data: unknown format');
  return parts[1]!;
}

/** Opens what sealData made (for the same secret ID). Throws SecretCryptoError if tampered with. */
export function openData(dek: Buffer, sealed: string, secretId: string): Buffer {
  sealedKeyId(sealed);
  const body = Buffer.from(sealed.slice(sealed.lastIndexOf(':') + 1), 'base64');
  if (body.length < 28) throw new SecretCryptoError('sealed secret data: too short');
  try {
    const d = createDecipheriv('aes-256-gcm', dek, body.subarray(0, 12));
    d.setAAD(Buffer.from(secretId));
    d.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([d.update(body.subarray(12, body.length - 16)), d.final()]);
  } catch (e) {
    throw new SecretCryptoError(`sealed secret data of ${secretId} does not open: ${(e as Error).message}`, { cause: e });
  }
}
