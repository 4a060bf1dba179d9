import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyStore } from '../../../manager/ca/key-store.js';
import { RootCA } from '../../../manager/ca/root-ca.js';
import { createKeyAndCSR } from '../../../manager/ca/identity.js';
import { CertificateAuthorityError } from '../../../manager/ca/ca-error.js';

const NOW = new Date('2026-03-01T12:00:00Z');

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `shoal-keystore-${process.pid}-`));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the identity is written as swarm-root-ca.crt, swarm-node.crt and a 0600 swarm-node.key, and read back', async () => {
  await withDir(async (dir) => {
    const ca = await RootCA.create({ clusterId: 'c', now: NOW });
    const { keyPem, csrPem } = await createKeyAndCSR();
    const certPem = await ca.signCSR(csrPem, { nodeId: 'n1', role: 'worker', clusterId: 'c', now: NOW });
    const ks = new KeyStore(dir);
    assert.equal(await ks.read(), undefined, 'nothing stored yet');
    await ks.write({ rootPem: ca.certPem, certPem, keyPem });
    assert.deepEqual((await readdir(join(dir, 'certificates'))).sort(), ['swarm-node.crt', 'swarm-node.key', 'swarm-root-ca.crt']);
    assert.equal((await stat(ks.paths().key)).mode & 0o777, 0o600);
    assert.deepEqual(await ks.read(), { rootPem: ca.certPem, certPem, keyPem });
    // overwrite (renewal) leaves no temporary files behind
    const renewed = await ca.signCSR(csrPem, { nodeId: 'n1', role: 'manager', clusterId: 'c', now: NOW });
    await ks.write({ rootPem: ca.certPem, certPem: renewed, keyPem });
    assert.equal((await ks.read())?.certPem, renewed);
    assert.equal((await readdir(ks.dir)).length, 3);
    await ks.remove();
    assert.equal(await ks.read(), undefined);
  });
});

test('a partly missing identity is an error naming the missing file; non-PEM input is refused', async () => {
  await withDir(async (dir) => {
    const ca = await RootCA.create({ clusterId: 'c', now: NOW });
    const ks = new KeyStore(dir);
    await assert.rejects(ks.write({ rootPem: ca.certPem, certPem: 'nope', keyPem: ca.keyPem }), CertificateAuthorityError);
    await ks.write({ rootPem: ca.certPem, certPem: ca.certPem, keyPem: ca.keyPem });
    await unlink(ks.paths().key);
    await assert.rejects(ks.read(), (e) => e instanceof CertificateAuthorityError && /swarm-node\.key/.test(e.message));
  });
});
