import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RootCA } from '../../../manager/ca/root-ca.js';
import { createKeyAndCSR, parseIdentity, verifyChain } from '../../../manager/ca/identity.js';
import { generateJoinToken, rotateJoinToken, secretOf } from '../../../manager/ca/join-token.js';
import { issueNodeCertificate, renewNodeCertificate, verifyFetchedRoot } from '../../../manager/ca/join-flow.js';
import { CertificateAuthorityError, InvalidJoinTokenError } from '../../../manager/ca/ca-error.js';

const NOW = new Date('2026-03-01T12:00:00Z');

async function cluster() {
  const ca = await RootCA.create({ clusterId: 'cl1', now: NOW });
  const worker = generateJoinToken(ca.digest(), randomBytes);
  const manager = generateJoinToken(ca.digest(), randomBytes);
  const removed = new Set<string>();
  const ctx = (newNodeId: string, w = worker, m = manager) => ({
    workerSecret: secretOf(w), managerSecret: secretOf(m), ca, clusterId: 'cl1', newNodeId, now: NOW,
    isRemoved: (id: string) => removed.has(id),
  });
  return { ca, worker, manager, removed, ctx };
}

const status = (s: number) => (e: unknown) => e instanceof CertificateAuthorityError && e.status === s;

test('the joiner accepts the fetched root only when its digest is the token\'s', async () => {
  const { ca, worker } = await cluster();
  const mitm = await RootCA.create({ clusterId: 'cl1', now: NOW });
  assert.equal(verifyFetchedRoot(ca.certPem, worker), ca.digest());
  assert.throws(() => verifyFetchedRoot(mitm.certPem, worker), (e) => status(403)(e) && /does not match the join token/.test((e as Error).message));
  assert.throws(() => verifyFetchedRoot(ca.certPem, 'SWMTKN-9-x-y'), InvalidJoinTokenError);
});

test('the role comes from which secret the token carries, and the certificate says so', async () => {
  const { ca, worker, manager, ctx } = await cluster();
  const { csrPem } = await createKeyAndCSR();
  const w = await issueNodeCertificate({ token: worker, csrPem }, ctx('w1'));
  const m = await issueNodeCertificate({ token: manager, csrPem }, ctx('m1'));
  assert.equal(w.role, 'worker');
  assert.equal(m.role, 'manager');
  assert.deepEqual([parseIdentity(w.certPem).role, parseIdentity(w.certPem).nodeId, parseIdentity(w.certPem).clusterId], ['worker', 'w1', 'cl1']);
  assert.equal(parseIdentity(m.certPem).role, 'manager');
  assert.deepEqual(await verifyChain(m.certPem, ca.certPem, NOW), { ok: true });
});

test('a wrong secret or another CA\'s token is refused with 401, a malformed one with 400', async () => {
  const { ca, worker, ctx } = await cluster();
  const { csrPem } = await createKeyAndCSR();
  const wrong = generateJoinToken(ca.digest(), randomBytes);
  await assert.rejects(issueNodeCertificate({ token: wrong, csrPem }, ctx('x')), status(401));
  const otherCa = await RootCA.create({ clusterId: 'cl2', now: NOW });
  const foreign = `SWMTKN-1-${generateJoinToken(otherCa.digest(), randomBytes).split('-')[2]}-${secretOf(worker)}`;
  await assert.rejects(issueNodeCertificate({ token: foreign, csrPem }, ctx('x')), status(401));
  await assert.rejects(issueNodeCertificate({ token: 'SWMTKN-1-abc', csrPem }, ctx('x')), status(400));
  await assert.rejects(issueNodeCertificate({ token: worker, csrPem: 'junk' }, ctx('x')), status(400));
});

test('asking for manager with a worker token, or joining as a removed node, is refused with 403', async () => {
  const { worker, removed, ctx } = await cluster();
  const { csrPem } = await createKeyAndCSR();
  await assert.rejects(issueNodeCertificate({ token: worker, csrPem, requestedRole: 'manager' }, ctx('x')), status(403));
  removed.add('gone');
  await assert.rejects(issueNodeCertificate({ token: worker, csrPem }, ctx('gone')), status(403));
  await assert.rejects(
    renewNodeCertificate(csrPem, { ca: (await cluster()).ca, clusterId: 'cl1', nodeId: 'gone', role: 'worker', now: NOW, isRemoved: (id) => removed.has(id) }),
    status(403),
  );
});

test('after rotating the worker token the old one is refused and the new one works', async () => {
  const { worker, manager, ctx } = await cluster();
  const { csrPem } = await createKeyAndCSR();
  const rotated = rotateJoinToken(worker, randomBytes);
  await assert.rejects(issueNodeCertificate({ token: worker, csrPem }, ctx('a', rotated, manager)), status(401));
  assert.equal((await issueNodeCertificate({ token: rotated, csrPem }, ctx('b', rotated, manager))).role, 'worker');
});

test('renewal keeps the node ID and takes the cluster\'s current role (promotion)', async () => {
  const { ca } = await cluster();
  const { csrPem } = await createKeyAndCSR();
  const r = await renewNodeCertificate(csrPem, { ca, clusterId: 'cl1', nodeId: 'w1', role: 'manager', now: NOW, isRemoved: () => false });
  assert.deepEqual([parseIdentity(r.certPem).nodeId, parseIdentity(r.certPem).role], ['w1', 'manager']);
});

test('bootstrapClusterSecurity gives a CA and distinct worker and manager tokens for its digest', async () => {
  const { bootstrapClusterSecurity } = await import('../../../manager/ca/cluster-security.js');
  const { parseJoinToken } = await import('../../../manager/ca/join-token.js');
  const sec = await bootstrapClusterSecurity({ clusterId: 'c9', now: NOW, randomBytes });
  assert.notEqual(sec.workerToken, sec.managerToken);
  assert.equal(parseJoinToken(sec.workerToken).caDigest, sec.ca.digest());
  assert.equal(verifyFetchedRoot(sec.ca.certPem, sec.managerToken), sec.ca.digest());
});
