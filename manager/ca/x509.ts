/**
 * The one place that loads @peculiar/x509. Its dependency-injection container needs the Reflect
 * metadata polyfill loaded first (hence the import order), and it must be told to use Node's webcrypto
 * before the first certificate operation: call `x509Ready()` first (cheap after the first call).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

let ready = false;

export function x509Ready(): typeof x509 {
  if (!ready) {
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    ready = true;
  }
  return x509;
}

export const crypto = webcrypto;
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** ECDSA P-256 with SHA-256: the only key and signature algorithm the swarm CA uses. */
export const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const EC_SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

export type { x509 };
