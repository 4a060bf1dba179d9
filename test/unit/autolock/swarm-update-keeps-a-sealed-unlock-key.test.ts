/**
 * The cluster side of autolock, through the control API (inject) over a store with a real secrets
 * keyring: turning autolock on makes an unlock key that GET /swarm/unlockkey shows and the store holds
 * only sealed, and the root CA key and join tokens are then sealed too (GET /swarm opens the tokens); rotateManagerUnlockKey replaces the key (and is
 * ignored while autolock is off, as SwarmKit); turning it off drops it; the per-manager decision of what the key file should be under follows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { createKeyAndCSR, generateJoinToken, RootCA } from '../../../manager/ca/index.js';
import { parseUnlockKey } from '../../../manager/ca/kek.js';
import { buildControlApp } from '../../../manager/controlapi/control-app.js';
import { SecretKeyring } from '../../../manager/controlapi/secret-keyring.js';
import { kekDecision } from '../../../manager/node/autolock-watcher.js';
import { unlockKeyVault } from '../../../manager/node/unlock-key-vault.js';
import { createStandaloneStore, defaultSwarmSpec, type Node } from '../../../manager/store/index.js';

async function setup() {
  const store = createStandaloneStore({ now: () => '2024-01-01T00:00:00.000Z' });
  const ca = await RootCA.create({ clusterId: 'c1', now: new Date() });
  const ids = { m1: await createKeyAndCSR(), m2: await createKeyAndCSR() };
  const tokens = { Worker: generateJoinToken(ca.digest(), randomBytes), Manager: generateJoinToken(ca.digest(), randomBytes) };
  await store.update((tx) => tx.create('clusters', { ID: 'c1', Spec: defaultSwarmSpec(), JoinTokens: tokens, RootCACert: ca.certPem, RootCAKey: ca.keyPem, RootCADigest: ca.digest() }));
  for (const id of ['m1', 'm2'] as const) {
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
  }
  const ring = (id: 'm1' | 'm2') => new SecretKeyring({ nodeId: id, privateKey: createPrivateKey(ids[id].keyPem), store });
  const app = await buildControlApp({ store, voters: () => [], unlockKeys: unlockKeyVault(ring('m1')) });
  return { store, app, ring, caKeyPem: ca.keyPem, tokens };
}

test('autolock on makes an unlock key shown by GET /swarm/unlockkey and stored only sealed, seals the CA key and join tokens too; rotation replaces the key; off drops it', async () => {
  const { store, app, ring, caKeyPem, tokens } = await setup();
  const shown = async () => ((await app.inject({ method: 'GET', url: '/swarm' })).json() as { JoinTokens: { Worker: string; Manager: string } }).JoinTokens;
  try {
    const update = async (spec: unknown, rotate = false) => {
      const sw = (await app.inject({ method: 'GET', url: '/swarm' })).json() as { Version: { Index: number } };
      return app.inject({ method: 'POST', url: `/v1.41/swarm/update?version=${sw.Version.Index}&rotateManagerUnlockKey=${rotate}`, payload: spec as object });
    };
    const key = async () => ((await app.inject({ method: 'GET', url: '/swarm/unlockkey' })).json() as { UnlockKey: string }).UnlockKey;
    assert.equal(await key(), '', 'no key without autolock');
    assert.equal((await update({}, true)).statusCode, 200);
    assert.equal(await key(), '', 'rotation is ignored while autolock is off');
    assert.equal(store.view((tx) => tx.find('clusters')[0]!.RootCAKey), caKeyPem, 'without autolock the CA key stays as it was');
    assert.deepEqual(store.view((tx) => tx.find('clusters')[0]!.JoinTokens), tokens, 'and so do the join tokens');

    assert.equal((await update({ EncryptionConfig: { AutoLockManagers: true } })).statusCode, 200);
    const k1 = await key();
    assert.match(k1, /^SWMKEY-1-[A-Za-z0-9+/]{43}$/);
    const c = store.view((tx) => tx.find('clusters')[0]!);
    assert.equal(c.Spec.EncryptionConfig.AutoLockManagers, true);
    assert.ok(c.SealedUnlockKey?.startsWith('v1:'), 'stored sealed');
    const raw = parseUnlockKey(k1);
    const stored = JSON.stringify(c);
    for (const form of [k1.slice(9), raw.toString('base64'), raw.toString('hex')]) assert.ok(!stored.includes(form), 'the cluster object holds no clear form of the key');
    assert.ok(!(await app.inject({ method: 'GET', url: '/swarm' })).body.includes('SealedUnlockKey'), 'GET /swarm does not render it');
    // another manager the secrets key is wrapped for opens the same key
    assert.deepEqual(store.view((tx) => unlockKeyVault(ring('m2')).open(tx, tx.find('clusters')[0]!)), raw);
    // the root CA key is sealed too: not in the cluster object in clear, opened by every manager
    assert.equal(c.RootCAKey, undefined);
    assert.ok(c.SealedRootCAKey?.startsWith('v1:'));
    for (const line of caKeyPem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) assert.ok(!stored.includes(line), 'no clear CA key in the cluster object');
    for (const m of ['m1', 'm2'] as const) assert.equal(store.view((tx) => unlockKeyVault(ring(m)).openRootKey(tx, tx.find('clusters')[0]!)), caKeyPem);
    // and the join tokens: the store holds them sealed only, GET /swarm shows them opened
    assert.deepEqual(c.JoinTokens, { Worker: '', Manager: '' });
    assert.ok(c.SealedJoinTokens?.startsWith('v1:') && !stored.includes(tokens.Worker) && !stored.includes(tokens.Manager));
    assert.deepEqual(await shown(), tokens);
    assert.deepEqual(store.view((tx) => unlockKeyVault(ring('m2')).joinTokensOf(tx, tx.find('clusters')[0]!)), tokens);
    // rotating a join token under autolock: the new one is shown, and stored sealed
    const sw0 = (await app.inject({ method: 'GET', url: '/swarm' })).json() as { Version: { Index: number } };
    assert.equal((await app.inject({ method: 'POST', url: `/swarm/update?version=${sw0.Version.Index}&rotateWorkerToken=true`, payload: {} })).statusCode, 200);
    const t2 = await shown();
    assert.ok(t2.Worker !== tokens.Worker && t2.Worker.startsWith('SWMTKN-1-') && t2.Manager === tokens.Manager);
    const c2 = store.view((tx) => tx.find('clusters')[0]!);
    assert.deepEqual(c2.JoinTokens, { Worker: '', Manager: '' });
    assert.ok(!JSON.stringify(c2).includes(t2.Worker));

    assert.equal((await update({ Orchestration: { TaskHistoryRetentionLimit: 3 } })).statusCode, 200);
    assert.equal(await key(), k1, 'an update that leaves autolock alone keeps the key');
    assert.equal((await update({}, true)).statusCode, 200);
    const k2 = await key();
    assert.ok(k2 !== k1 && k2.startsWith('SWMKEY-1-'), 'rotated');

    const bad = await update({ EncryptionConfig: { AutoLockManagers: 'yes' } });
    assert.equal(bad.statusCode, 400);
    assert.match((bad.json() as { message: string }).message, /Spec.EncryptionConfig.AutoLockManagers: "yes" is not a boolean/);
    assert.equal(await key(), k2);

    assert.equal((await update({ EncryptionConfig: { AutoLockManagers: false } })).statusCode, 200);
    assert.equal(await key(), '');
    assert.equal(store.view((tx) => tx.find('clusters')[0]!.SealedUnlockKey), undefined);
    assert.equal(store.view((tx) => unlockKeyVault(ring('m1')).openRootKey(tx, tx.find('clusters')[0]!)), caKeyPem, 'the CA key stays sealed, and opens');
    assert.deepEqual(await shown(), t2, 'the join tokens stay sealed, and are shown');
  } finally {
    await app.close();
    store.close();
  }
});

test('what a manager writes its key under: the opened key while autolock is on, clear when off, as is while it cannot open it', () => {
  const spec = defaultSwarmSpec();
  const base = { ID: 'c', Meta: { Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '' }, JoinTokens: { Worker: '', Manager: '' }, RootCACert: '', RootCADigest: '' };
  const key = Buffer.alloc(32, 7);
  const on = { ...base, Spec: { ...spec, EncryptionConfig: { AutoLockManagers: true } }, SealedUnlockKey: 'v1:k:x' };
  assert.deepEqual(kekDecision(on, () => key), { kind: 'key', key });
  assert.deepEqual(kekDecision({ ...base, Spec: spec }, () => key), { kind: 'clear' });
  assert.deepEqual(kekDecision({ ...on, Spec: spec }, () => key), { kind: 'clear' }, 'autolock off: clear even if a key were left');
  assert.equal(kekDecision(undefined, () => key).kind, 'keep');
  const d = kekDecision(on, () => {
    throw new Error('the secrets key has not been wrapped for this manager yet');
  });
  assert.deepEqual(d, { kind: 'keep', reason: 'the secrets key has not been wrapped for this manager yet' });
});
