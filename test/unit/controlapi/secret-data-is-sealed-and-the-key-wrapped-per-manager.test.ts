/**
 * The secrets cryptography: a DEK wrapped for one manager's key opens only with that key; sealing is
 * deterministic (replicas hold the same bytes), bound to the secret ID, and refuses tampered data; the
 * keyring creates the key on first use, wraps it for every manager with a certificate and re-wraps for
 * managers that join later.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { openData, sealData, SecretCryptoError, unwrapKey, wrapKey } from '../../../manager/controlapi/secret-crypto.js';
import { SecretKeyring } from '../../../manager/controlapi/secret-keyring.js';
import { createStandaloneStore, defaultSwarmSpec, type Node } from '../../../manager/store/index.js';
import { createKeyAndCSR, RootCA } from '../../../manager/ca/index.js';

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

test('a wrapped DEK opens with the recipient key only', () => {
  const dek = randomBytes(32);
  const a = p256();
  const b = p256();
  const w = wrapKey(dek, 'k1', a, randomBytes(32));
  assert.deepEqual(unwrapKey(w, a), dek);
  assert.throws(() => unwrapKey(w, b), SecretCryptoError);
  assert.throws(() => unwrapKey({ ...w, Recipient: wrapKey(dek, 'k1', b, randomBytes(32)).Recipient }, b), SecretCryptoError);
  assert.throws(() => unwrapKey({ ...w, KeyID: 'k2' }, a), SecretCryptoError, 'the key ID is bound into the wrap');
  assert.ok(!Buffer.from(w.Data, 'base64').includes(dek), 'the wrapped form does not contain the key');
});

test('sealing is deterministic, bound to the secret ID, and refuses tampering', () => {
  const dek = randomBytes(32);
  const data = Buffer.from('hunter2-very-secret');
  const s1 = sealData(dek, 'k1', 'secretA', data);
  assert.equal(sealData(dek, 'k1', 'secretA', data), s1);
  assert.notEqual(sealData(dek, 'k1', 'secretB', data), s1);
  assert.notEqual(sealData(dek, 'k1', 'secretA', Buffer.from('other')), s1);
  assert.ok(!s1.includes('hunter2') && !Buffer.from(s1.split(':')[2]!, 'base64').includes(data));
  assert.deepEqual(openData(dek, s1, 'secretA'), data);
  assert.throws(() => openData(dek, s1, 'secretB'), SecretCryptoError, 'moved to another secret');
  assert.throws(() => openData(randomBytes(32), s1, 'secretA'), SecretCryptoError, 'another key');
  const raw = Buffer.from(s1.split(':')[2]!, 'base64');
  raw[14] = raw[14]! ^ 1;
  assert.throws(() => openData(dek, `v1:k1:${raw.toString('base64')}`, 'secretA'), SecretCryptoError, 'tampered');
});

test('the keyring wraps the key for every manager, and a manager joining later gets it from the leader', async () => {
  const store = createStandaloneStore({ now: () => '2024-01-01T00:00:00.000Z' });
  await store.update((tx) => tx.create('clusters', { ID: 'c1', Spec: defaultSwarmSpec(), JoinTokens: { Worker: '', Manager: '' }, RootCACert: '', RootCADigest: '' }));
  const ca = await RootCA.create({ clusterId: 'c1', now: new Date() });
  const ids = { m1: await createKeyAndCSR(), m2: await createKeyAndCSR(), m3: await createKeyAndCSR() };
  const keys = { m1: createPrivateKey(ids.m1.keyPem), m2: createPrivateKey(ids.m2.keyPem), m3: createPrivateKey(ids.m3.keyPem) };
  const addManager = async (id: keyof typeof keys) => {
    const cert = await ca.signCSR(ids[id].csrPem, { nodeId: id, role: 'manager', clusterId: 'c1', now: new Date() });
    await store.update((tx) =>
      tx.create('nodes', {
        ID: id,
        Spec: { Role: 'manager', Availability: 'active' },
        Description: { Hostname: id, Platform: { Architecture: 'x86_64', OS: 'linux' }, Resources: { NanoCPUs: 1, MemoryBytes: 1 }, Engine: { EngineVersion: 'x' } },
        Status: { State: 'ready', Addr: '127.0.0.1' },
        Certificate: { Status: 'issued', Certificate: cert },
        Role: 'manager',
      } as Omit<Node, 'Meta'>),
    );
  };
  await addManager('m2');
  const leader = new SecretKeyring({ nodeId: 'm1', privateKey: keys.m1, store });
  const sealed = await store.update((tx) => leader.seal(tx, 'sec1', Buffer.from('pw')));
  const c = store.view((tx) => tx.find('clusters')[0]!);
  assert.deepEqual(Object.keys(c.SecretsKeys!.Managers).sort(), ['m1', 'm2']);
  const m2 = new SecretKeyring({ nodeId: 'm2', privateKey: keys.m2, store });
  const secret = { ID: 'sec1', Meta: { Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '' }, Spec: { Name: 's' }, SealedData: sealed.result };
  assert.equal(Buffer.from(m2.reveal(secret).Spec.Data!, 'base64').toString(), 'pw');
  assert.equal(m2.reveal(secret).SealedData, undefined);

  // m3 joins: it cannot open until the leader's loop wraps the key for it
  await addManager('m3');
  const m3 = new SecretKeyring({ nodeId: 'm3', privateKey: ids.m3.keyPem, store });
  assert.throws(() => m3.reveal(secret), /not been wrapped for this manager/);
  const loop = leader.loop();
  const log = { info() {}, warn() {}, error() {}, debug() {} };
  loop.start({ store, now: () => 0, random: Math.random, log, nodeId: 'm1' });
  try {
    const deadline = Date.now() + 5000;
    while (!store.view((tx) => tx.find('clusters')[0]!.SecretsKeys!.Managers.m3) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(Buffer.from(m3.reveal(secret).Spec.Data!, 'base64').toString(), 'pw');
    // m2 demoted: its entry goes
    await store.update((tx) => {
      const n = tx.get('nodes', 'm2')!;
      tx.update('nodes', { ...n, Role: 'worker', Spec: { ...n.Spec, Role: 'worker' } });
    });
    while (store.view((tx) => tx.find('clusters')[0]!.SecretsKeys!.Managers.m2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(Object.keys(store.view((tx) => tx.find('clusters')[0]!.SecretsKeys!.Managers)).sort(), ['m1', 'm3']);
  } finally {
    await loop.stop();
    store.close();
  }
});
