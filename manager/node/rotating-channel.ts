/**
 * Client credentials that follow a CertificateSource (renewal replaces the certificate without new
 * clients) and check the server by chain and certificate (role, cluster) instead of by hostname, as
 * manager/ca's channelCredentials does for a fixed certificate.
 */
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { CertificateAuthorityError, type CertificateSource, type Identity, type NodeRole, parseIdentity } from '../ca/index.js';

export function rotatingChannelCredentials(source: CertificateSource, check: { clusterId?: string; serverRoles?: readonly NodeRole[] } = {}): grpc.ChannelCredentials {
  const roles = check.serverRoles ?? ['manager'];
  return grpc.experimental.createCertificateProviderChannelCredentials(source, source, {
    checkServerIdentity: (_host: string, cert: PeerCertificate) => {
      let id: Identity;
      try {
        id = parseIdentity(new Uint8Array(cert.raw));
      } catch (e) {
        return e as Error;
      }
      if (!roles.includes(id.role)) return new CertificateAuthorityError(403, `server certificate role ${id.role} is not one of ${roles.join(', ')}`);
      if (check.clusterId !== undefined && id.clusterId !== check.clusterId) {
        return new CertificateAuthorityError(403, `server certificate is for cluster ${id.clusterId}, not ${check.clusterId}`);
      }
      return undefined;
    },
  });
}
