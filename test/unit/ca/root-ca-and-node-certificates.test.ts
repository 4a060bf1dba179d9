import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { RootCA } from '../../../manager/ca/root-ca.js';
import { createKeyAndCSR, parseIdentity, renewAt, verifyChain } from '../../../manager/ca/identity.js';
import { CertificateAuthorityError } from '../../../manager/ca/ca-error.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 24 * 3600 * 1000;

test('the root is a self-signed CA "swarm-ca" with cert-sign/CRL-sign usage, valid ~20 years', async () => {
  const ca = await RootCA.create({ clusterId: 'c1', now: NOW });
  const c = new X509Certificate(ca.certPem); // Node's own parser, independent of the one that built it
  assert.equal(c.subject, 'CN=swarm-ca');
  assert.equal(c.issuer, 'CN=swarm-ca');
  assert.equal(c.ca, true);
  assert.ok(c.verify(c.publicKey), 'self-signed');
  assert.equal(c.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const years = (new Date(c.validTo).getTime() - NOW.getTime()) / (365 * DAY);
  assert.ok(years > 19.9 && years < 20.1, `validity ${years} years`);
  assert.equal(ca.digest(), createHash('sha256').update(c.raw).digest('hex'));
  assert.match(ca.keyPem, /-----BEGIN PRIVATE KEY-----/);
});

test('a signed node certificate says CN = node ID, OU = role, O = cluster, whatever the CSR asked for', async () => {
  const ca = await RootCA.create({ clusterId: 'clusterA', now: NOW });
  const { csrPem } = await createKeyAndCSR();
  const pem = await ca.signCSR(csrPem, { nodeId: 'node123', role: 'worker', clusterId: 'clusterA', now: NOW });
  const c = new X509Certificate(pem);
  assert.equal(c.subject.split('\n').sort().join(','), 'CN=node123,O=clusterA,OU=swarm-worker');
  assert.equal(c.ca, false);
  assert.equal(c.subjectAltName, 'DNS:swarm-worker, DNS:node123');
  assert.deepEqual([...(c.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']); // serverAuth, clientAuth
  assert.ok(c.verify(new X509Certificate(ca.certPem).publicKey));
  const id = parseIdentity(pem);
  assert.deepEqual({ ...id, notBefore: undefined, notAfter: undefined }, { nodeId: 'node123', role: 'worker', clusterId: 'clusterA', notBefore: undefined, notAfter: undefined });
  assert.equal(id.notBefore.getTime(), NOW.getTime() - 3600 * 1000, 'backdated one hour');
  assert.equal(id.notAfter.getTime(), NOW.getTime() + 90 * DAY, '90 days by default');
  const mgr = parseIdentity(await ca.signCSR(csrPem, { nodeId: 'm1', role: 'manager', clusterId: 'clusterA', now: NOW, validityDays: 10 }));
  assert.equal(mgr.role, 'manager');
  assert.equal(mgr.notAfter.getTime(), NOW.getTime() + 10 * DAY);
  // parseIdentity takes DER too
  assert.equal(parseIdentity(new Uint8Array(c.raw)).nodeId, 'node123');
});

test('verifyChain accepts our leaf and refuses one from another CA or outside its validity', async () => {
  const ca = await RootCA.create({ clusterId: 'c', now: NOW });
  const other = await RootCA.create({ clusterId: 'c', now: NOW });
  const { csrPem } = await createKeyAndCSR();
  const leaf = await ca.signCSR(csrPem, { nodeId: 'n', role: 'worker', clusterId: 'c', now: NOW });
  assert.deepEqual(await verifyChain(leaf, ca.certPem, NOW), { ok: true });
  const foreign = await verifyChain(leaf, other.certPem);
  assert.equal(foreign.ok, false);
  assert.ok(!foreign.ok && /signature/.test(foreign.reason));
  const late = await verifyChain(leaf, ca.certPem, new Date(NOW.getTime() + 91 * DAY));
  assert.ok(!late.ok && /expired/.test(late.reason));
});

test('load round-trips a root and refuses a key that is not the certificate\'s', async () => {
  const a = await RootCA.create({ clusterId: 'c', now: NOW });
  const b = await RootCA.create({ clusterId: 'c', now: NOW });
  const again = await RootCA.load(a.certPem, a.keyPem);
  assert.equal(again.digest(), a.digest());
  const { csrPem } = await createKeyAndCSR();
  assert.deepEqual(await verifyChain(await again.signCSR(csrPem, { nodeId: 'n', role: 'worker', clusterId: 'c', now: NOW }), a.certPem), { ok: true });
  await assert.rejects(RootCA.load(a.certPem, b.keyPem), (e) => e instanceof CertificateAuthorityError && /does not belong/.test(e.message));
  const leaf = await a.signCSR(csrPem, { nodeId: 'n', role: 'worker', clusterId: 'c', now: NOW });
  await assert.rejects(RootCA.load(leaf, a.keyPem), (e) => e instanceof CertificateAuthorityError && /not a CA/.test(e.message));
});

test('a malformed or tampered CSR is refused with status 400', async () => {
  const ca = await RootCA.create({ clusterId: 'c', now: NOW });
  const opts = { nodeId: 'n', role: 'worker' as const, clusterId: 'c', now: NOW };
  await assert.rejects(ca.signCSR('garbage', opts), (e) => e instanceof CertificateAuthorityError && e.status === 400);
  const { csrPem } = await createKeyAndCSR();
  const b64 = csrPem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  const der = Buffer.from(b64, 'base64');
  der[der.length - 5] ^= 0xff; // corrupt the signature
  const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  await assert.rejects(ca.signCSR(bad, opts), (e) => e instanceof CertificateAuthorityError && e.status === 400);
});

test('parseIdentity refuses a certificate that is not a node identity', async () => {
  const ca = await RootCA.create({ clusterId: 'c', now: NOW });
  assert.throws(() => parseIdentity(ca.certPem), (e) => e instanceof CertificateAuthorityError && e.status === 400);
  assert.throws(() => parseIdentity('not a cert'), (e) => e instanceof CertificateAuthorityError && e.status === 400);
});

test('renewal falls between 50 % and 80 % of the lifetime, where the injected randomness says', () => {
  const nb = new Date('2026-01-01T00:00:00Z');
  const na = new Date(nb.getTime() + 100 * DAY);
  assert.equal(renewAt(nb, na, () => 0).getTime(), nb.getTime() + 50 * DAY);
  assert.equal(renewAt(nb, na, () => 0.5).getTime(), nb.getTime() + 65 * DAY);
  const hi = renewAt(nb, na, () => 0.999999).getTime();
  assert.ok(hi < nb.getTime() + 80 * DAY && hi > nb.getTime() + 79.9 * DAY);
});
