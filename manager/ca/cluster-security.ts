/**
 * What `swarm init` creates for security: the root CA, and one join token for workers and one for
 * managers (same CA digest, different secrets). Randomness is passed in.
 */
import { generateJoinToken } from './join-token.js';
import { RootCA } from './root-ca.js';

export interface ClusterSecurity {
  ca: RootCA;
  workerToken: string;
  managerToken: string;
}

export async function bootstrapClusterSecurity(opts: {
  clusterId: string;
  now: Date;
  randomBytes: (n: number) => Uint8Array;
  rootValidityDays?: number;
}): Promise<ClusterSecurity> {
  const ca = await RootCA.create({
    clusterId: opts.clusterId,
    now: opts.now,
    ...(opts.rootValidityDays !== undefined ? { validityDays: opts.rootValidityDays } : {}),
  });
  const digest = ca.digest();
  let workerToken = generateJoinToken(digest, opts.randomBytes);
  let managerToken = generateJoinToken(digest, opts.randomBytes);
  while (managerToken === workerToken) managerToken = generateJoinToken(digest, opts.randomBytes);
  return { ca, workerToken, managerToken };
}
