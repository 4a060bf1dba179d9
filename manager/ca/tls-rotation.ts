/**
 * Server credentials for the managers' one port (2377 in Swarm), where joiners without a certificate
 * must reach the CA while everything else is mutual TLS — SwarmKit's "verify the client certificate if
 * given". A client certificate that does not chain to the root is not refused at the handshake but is
 * not believed either: grpc-js exposes a peer certificate only when TLS verified it, so `peerIdentity`
 * then fails with 401. The node's certificate and the root can be replaced at run time (renewal, root
 * rotation); new connections use the new ones.
 */
import * as grpc from '@grpc/grpc-js';
import type { TlsIdentity } from './tls-credentials.js';

type CaListener = (u: { caCertificate: Buffer } | null) => void;
type IdListener = (u: { certificate: Buffer; privateKey: Buffer } | null) => void;

/** The node's current certificate, key and trusted root, as a grpc-js certificate provider. */
export class CertificateSource {
  private readonly caListeners = new Set<CaListener>();
  private readonly idListeners = new Set<IdListener>();

  constructor(
    private identity: TlsIdentity,
    private rootPem: string,
  ) {}

  /** Replaces the certificate/key (and the root, if given); connections opened from now on use them. */
  update(identity: TlsIdentity, rootPem?: string): void {
    this.identity = identity;
    if (rootPem !== undefined) {
      this.rootPem = rootPem;
      for (const l of this.caListeners) l(this.caUpdate());
    }
    for (const l of this.idListeners) l(this.idUpdate());
  }

  current(): { identity: TlsIdentity; rootPem: string } {
    return { identity: this.identity, rootPem: this.rootPem };
  }

  private caUpdate() {
    return { caCertificate: Buffer.from(this.rootPem) };
  }

  private idUpdate() {
    return { certificate: Buffer.from(this.identity.certPem), privateKey: Buffer.from(this.identity.keyPem) };
  }

  // grpc-js registers its watcher only after adding the listeners, so the first value is delivered
  // on a microtask (a synchronous call would reach no watcher and leave the server without a context).
  addCaCertificateListener(l: CaListener): void {
    this.caListeners.add(l);
    queueMicrotask(() => {
      if (this.caListeners.has(l)) l(this.caUpdate());
    });
  }

  removeCaCertificateListener(l: CaListener): void {
    this.caListeners.delete(l);
  }

  addIdentityCertificateListener(l: IdListener): void {
    this.idListeners.add(l);
    queueMicrotask(() => {
      if (this.idListeners.has(l)) l(this.idUpdate());
    });
  }

  removeIdentityCertificateListener(l: IdListener): void {
    this.idListeners.delete(l);
  }
}

/**
 * Server credentials that follow `source`. With `requireClientCertificate: false` (the managers' join
 * port) clients without a certificate connect; every RPC but the CA's insecure ones must then call
 * `authorizeCaller`/`peerIdentity`, which refuse callers without a verified certificate.
 */
export function rotatingServerCredentials(source: CertificateSource, opts: { requireClientCertificate: boolean }): grpc.ServerCredentials {
  // grpc-js takes (identity provider, CA provider, require) whatever its parameter names say; one
  // source serves as both.
  return grpc.experimental.createCertificateProviderServerCredentials(source, source, opts.requireClientCertificate);
}

/**
 * What a joiner dials with before it has a certificate: TLS without verifying the server (it checks
 * the fetched root against the join token's digest instead, see verifyFetchedRoot) and no client
 * certificate.
 */
export function bootstrapChannelCredentials(): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false, checkServerIdentity: () => undefined });
}
