/**
 * A node's identity as its certificate states it: CN = node ID, OU = role, O = cluster ID (SwarmKit's
 * layout). Key and CSR creation for a joining node, chain verification, and the renewal point.
 */
import { CertificateAuthorityError } from './ca-error.js';
import { type CryptoKey, type CryptoKeyPair, EC_KEY, EC_SIGN, crypto, x509Ready } from './x509.js';

export type NodeRole = 'manager' | 'worker';
export const MANAGER_OU = 'swarm-manager';
export const WORKER_OU = 'swarm-worker';
export const CA_CN = 'swarm-ca';

export function roleToOU(role: NodeRole): string {
  return role === 'manager' ? MANAGER_OU : WORKER_OU;
}

export function ouToRole(ou: string): NodeRole | undefined {
  return ou === MANAGER_OU ? 'manager' : ou === WORKER_OU ? 'worker' : undefined;
}

export interface Identity {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
  notBefore: Date;
  notAfter: Date;
}

export interface KeyAndCSR {
  /** PKCS#8 PEM of the new private key */
  keyPem: string;
  csrPem: string;
}

/** A fresh ECDSA P-256 key and a CSR for it (its subject is a placeholder: the CA decides identity). */
export async function createKeyAndCSR(): Promise<KeyAndCSR> {
  const x = x509Ready();
  const keys = (await crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: ['swarm-node'] }],
    keys,
    signingAlgorithm: EC_SIGN,
  });
  return { keyPem: await exportKeyPem(keys.privateKey), csrPem: csr.toString('pem') };
}

export async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return x509Ready().PemConverter.encode(der, 'PRIVATE KEY');
}

export async function importKeyPem(pem: string): Promise<CryptoKey> {
  const x = x509Ready();
  let der: ArrayBuffer;
  try {
    der = x.PemConverter.decodeFirst(pem);
  } catch (e) {
    throw new CertificateAuthorityError(400, 'private key: not PEM', { cause: e });
  }
  try {
    return await crypto.subtle.importKey('pkcs8', der, EC_KEY, true, ['sign']);
  } catch (e) {
    throw new CertificateAuthorityError(400, 'private key: not a PKCS#8 ECDSA P-256 key', { cause: e });
  }
}

export function loadCertificate(cert: string | Uint8Array): InstanceType<ReturnType<typeof x509Ready>['X509Certificate']> {
  const x = x509Ready();
  try {
    return typeof cert === 'string' ? new x.X509Certificate(cert) : new x.X509Certificate(new Uint8Array(cert));
  } catch (e) {
    throw new CertificateAuthorityError(400, `certificate: cannot parse (${(e as Error).message})`, { cause: e });
  }
}

/** Reads the identity a certificate (PEM or DER) carries. Throws 400 when it is not a node certificate. */
export function parseIdentity(cert: string | Uint8Array): Identity {
  const c = loadCertificate(cert);
  const name = c.subjectName;
  const cn = name.getField('CN');
  const ou = name.getField('OU');
  const o = name.getField('O');
  if (cn.length !== 1 || ou.length !== 1 || o.length !== 1) {
    throw new CertificateAuthorityError(400, `certificate subject '${c.subject}' is not a node identity (want one CN, OU and O)`);
  }
  const role = ouToRole(ou[0]!);
  if (!role) throw new CertificateAuthorityError(400, `certificate OU '${ou[0]}' is not a swarm role`);
  return { nodeId: cn[0]!, role, clusterId: o[0]!, notBefore: c.notBefore, notAfter: c.notAfter };
}

export type ChainCheck = { ok: true } | { ok: false; reason: string };

/**
 * Whether `leaf` was signed by `root` and (when `now` is given) both are valid at `now`. A tagged
 * result, not a throw: a failed check is an answer.
 */
export async function verifyChain(leafPem: string | Uint8Array, rootPem: string | Uint8Array, now?: Date): Promise<ChainCheck> {
  let leaf, root;
  try {
    leaf = loadCertificate(leafPem);
    root = loadCertificate(rootPem);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  if (leaf.issuer !== root.subject) return { ok: false, reason: `issuer '${leaf.issuer}' is not the root '${root.subject}'` };
  const ok = await leaf.verify({ publicKey: root.publicKey, signatureOnly: true }).catch(() => false);
  if (!ok) return { ok: false, reason: 'signature does not verify against the root key' };
  if (now) {
    for (const [what, c] of [['certificate', leaf], ['root', root]] as const) {
      if (now < c.notBefore) return { ok: false, reason: `${what} not valid before ${c.notBefore.toISOString()}` };
      if (now > c.notAfter) return { ok: false, reason: `${what} expired at ${c.notAfter.toISOString()}` };
    }
  }
  return { ok: true };
}

/**
 * When to renew: a random point between 50 % and 80 % of the certificate's lifetime (SwarmKit's
 * calculateRandomExpiry), so that a cluster's nodes do not all renew at once. `random` gives [0, 1).
 */
export function renewAt(notBefore: Date, notAfter: Date, random: () => number): Date {
  const life = notAfter.getTime() - notBefore.getTime();
  const r = Math.min(Math.max(random(), 0), 1);
  return new Date(notBefore.getTime() + Math.floor(life * (0.5 + 0.3 * r)));
}
