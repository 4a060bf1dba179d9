/**
 * The cluster's root certificate authority: a self-signed ECDSA P-256 certificate (CN "swarm-ca") and
 * its key, signing node certificates whose identity is the CA's decision (CN = node ID, OU = role,
 * O = cluster ID), never what the requester put in its CSR.
 */
import { createHash } from 'node:crypto';
import { CertificateAuthorityError } from './ca-error.js';
import { CA_CN, type NodeRole, exportKeyPem, importKeyPem, loadCertificate, roleToOU } from './identity.js';
import { type CryptoKey, type CryptoKeyPair, EC_KEY, EC_SIGN, crypto, x509Ready } from './x509.js';

const DAY_MS = 24 * 3600 * 1000;
/** SwarmKit's RootCAExpiration: 20 years. */
export const ROOT_VALIDITY_DAYS = 20 * 365;
/** SwarmKit's DefaultNodeCertExpiration: 2160 h. */
export const NODE_VALIDITY_DAYS = 90;
/** Node certificates are backdated an hour against clock skew (SwarmKit's CertBackdate). */
export const BACKDATE_MS = 3600 * 1000;
/** SwarmKit's MinNodeCertExpiration: 1 h. */
export const MIN_NODE_VALIDITY_MS = 3600 * 1000;

export interface SignOptions {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
  now: Date;
  validityDays?: number;
}

export class RootCA {
  private constructor(
    readonly certPem: string,
    readonly keyPem: string,
    private readonly key: CryptoKey,
    private readonly der: Uint8Array,
  ) {}

  static async create(opts: { clusterId: string; now: Date; validityDays?: number }): Promise<RootCA> {
    const x = x509Ready();
    const keys = (await crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as CryptoKeyPair;
    const notBefore = new Date(opts.now.getTime() - BACKDATE_MS);
    const cert = await x.X509CertificateGenerator.createSelfSigned({
      serialNumber: await randomSerial(),
      name: [{ CN: [CA_CN] }],
      notBefore,
      notAfter: new Date(opts.now.getTime() + (opts.validityDays ?? ROOT_VALIDITY_DAYS) * DAY_MS),
      keys,
      signingAlgorithm: EC_SIGN,
      extensions: [
        new x.BasicConstraintsExtension(true, 1, true),
        new x.KeyUsagesExtension(x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign | x.KeyUsageFlags.digitalSignature, true),
        await x.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new RootCA(cert.toString('pem'), await exportKeyPem(keys.privateKey), keys.privateKey, new Uint8Array(cert.rawData));
  }

  /** Loads a root from PEM; refuses a certificate that is not a CA or a key that does not match it. */
  static async load(certPem: string, keyPem: string): Promise<RootCA> {
    const x = x509Ready();
    const cert = loadCertificate(certPem);
    const bc = cert.getExtension(x.BasicConstraintsExtension);
    if (!bc?.ca) throw new CertificateAuthorityError(400, 'root certificate is not a CA (basicConstraints)');
    const key = await importKeyPem(keyPem);
    // The key must be the certificate's: sign a probe and check it with the certificate's public key.
    const probe = new TextEncoder().encode('shoal-root-key-probe');
    const sig = await crypto.subtle.sign(EC_SIGN, key, probe);
    const pub = await cert.publicKey.export(EC_KEY, ['verify']);
    if (!(await crypto.subtle.verify(EC_SIGN, pub as CryptoKey, sig, probe))) {
      throw new CertificateAuthorityError(400, 'root key does not belong to the root certificate');
    }
    return new RootCA(cert.toString('pem'), keyPem, key, new Uint8Array(cert.rawData));
  }

  /** sha256 of the root certificate's DER, hex: what join tokens carry. */
  digest(): string {
    return createHash('sha256').update(this.der).digest('hex');
  }

  /**
   * Signs a node certificate for the public key in `csrPem`. The CSR's subject and extensions are
   * ignored; its signature must verify (proof that the requester holds the key).
   */
  async signCSR(csrPem: string, opts: SignOptions): Promise<string> {
    const x = x509Ready();
    if (!opts.nodeId || !opts.clusterId) throw new CertificateAuthorityError(400, 'node ID and cluster ID are required');
    let csr;
    try {
      csr = new x.Pkcs10CertificateRequest(csrPem);
    } catch (e) {
      throw new CertificateAuthorityError(400, `CSR: cannot parse (${(e as Error).message})`, { cause: e });
    }
    if (!(await csr.verify().catch(() => false))) throw new CertificateAuthorityError(400, 'CSR: signature does not verify');
    if (csr.publicKey.algorithm.name !== 'ECDSA') throw new CertificateAuthorityError(400, 'CSR: key is not ECDSA');
    const validityMs = (opts.validityDays ?? NODE_VALIDITY_DAYS) * DAY_MS;
    if (validityMs < MIN_NODE_VALIDITY_MS) throw new CertificateAuthorityError(400, 'node certificate validity must be at least 1 hour');
    const root = loadCertificate(this.certPem);
    const ou = roleToOU(opts.role);
    const cert = await x.X509CertificateGenerator.create({
      serialNumber: await randomSerial(),
      subject: [{ O: [opts.clusterId] }, { OU: [ou] }, { CN: [opts.nodeId] }],
      issuer: root.subjectName,
      notBefore: new Date(opts.now.getTime() - BACKDATE_MS),
      notAfter: new Date(opts.now.getTime() + validityMs),
      publicKey: csr.publicKey,
      signingKey: this.key,
      signingAlgorithm: EC_SIGN,
      extensions: [
        new x.BasicConstraintsExtension(false, undefined, true),
        new x.KeyUsagesExtension(x.KeyUsageFlags.digitalSignature | x.KeyUsageFlags.keyEncipherment, true),
        new x.ExtendedKeyUsageExtension([x.ExtendedKeyUsage.serverAuth, x.ExtendedKeyUsage.clientAuth]),
        new x.SubjectAlternativeNameExtension([
          { type: 'dns', value: ou },
          { type: 'dns', value: opts.nodeId },
        ]),
        await x.AuthorityKeyIdentifierExtension.create(root.publicKey),
      ],
    });
    return cert.toString('pem');
  }
}

async function randomSerial(): Promise<string> {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] = b[0]! & 0x7f; // positive
  if (b[0] === 0) b[0] = 1;
  return Buffer.from(b).toString('hex');
}
