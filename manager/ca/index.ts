// The swarm certificate authority. Re-exports only.
export { CertificateAuthorityError, InvalidJoinTokenError, type CaStatus, type JoinTokenPart } from './ca-error.js';
export {
  type Identity, type NodeRole, type KeyAndCSR, type ChainCheck,
  createKeyAndCSR, parseIdentity, verifyChain, renewAt, roleToOU, ouToRole, MANAGER_OU, WORKER_OU, CA_CN,
} from './identity.js';
export { RootCA, type SignOptions, ROOT_VALIDITY_DAYS, NODE_VALIDITY_DAYS } from './root-ca.js';
export {
  type ParsedJoinToken, generateJoinToken, generateJoinSecret, formatJoinToken, parseJoinToken, rotateJoinToken,
  tokenMatches, secretOf, secretsEqual,
} from './join-token.js';
export {
  type IssueRequest, type IssueContext, type IssuedCertificate, type RenewContext,
  verifyFetchedRoot, issueNodeCertificate, renewNodeCertificate,
} from './join-flow.js';
export { KeyStore, type StoredIdentity } from './key-store.js';
export {
  type TlsIdentity, type ChannelCheck, type CallerPolicy, serverCredentials, channelCredentials, channelOptions, peerIdentity, authorizeCaller,
} from './tls-credentials.js';
export { bootstrapClusterSecurity, type ClusterSecurity } from './cluster-security.js';
export { CertificateSource, rotatingServerCredentials, bootstrapChannelCredentials } from './tls-rotation.js';
