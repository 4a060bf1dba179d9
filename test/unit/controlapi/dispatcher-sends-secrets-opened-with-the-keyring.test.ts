/**
 * A secret created through the REST plugin is stored sealed; the dispatcher, given the leader keyring's
 * reveal, sends it to the node running a task that references it with Spec.Data opened; a manager whose
 * key it was never wrapped for leaves it out rather than sending sealed bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import Fastify from 'fastify';
import { Dispatcher, type AssignmentMessage } from '../../../manager/dispatcher/index.js';
import { createStandaloneStore, defaultSwarmSpec, type Node, type Secret } from '../../../manager/store/index.js';
import { SecretKeyring } from '../../../manager/controlapi/secret-keyring.js';
import { secretRoutes } from '../../../manager/controlapi/secret-routes.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

test('the dispatcher sends a referenced secret with its data opened, and never sealed', async () => {
  const store = createStandaloneStore({ now: () => new Date(0).toISOString() });
  await store.update((tx) => {
    tx.create('clusters', { ID: 'c'.repeat(25), Spec: defaultSwarmSpec(), JoinTokens: { Worker: '', Manager: '' }, RootCACert: '', RootCADigest: '' });
    tx.create('nodes', {
      ID: 'n1',
      Spec: { Role: 'worker', Availability: 'active' },
      Description: { Hostname: 'n1', Platform: { Architecture: 'x86_64', OS: 'linux' }, Resources: { NanoCPUs: 1e9, MemoryBytes: 2 ** 30 }, Engine: { EngineVersion: 't' } },
      Status: { State: 'ready', Addr: '127.0.0.2' },
      Certificate: { Status: 'issued', Certificate: '' },
      Role: 'worker',
    } as Omit<Node, 'Meta'>);
  });
  const leader = new SecretKeyring({ nodeId: 'm1', privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, store });
  const app = Fastify();
  await app.register(secretRoutes({ store, keyring: leader }));
  const res = await app.inject({ method: 'POST', url: '/secrets/create', payload: { Name: 'pw', Data: Buffer.from('letmein').toString('base64') } });
  assert.equal(res.statusCode, 201, res.body);
  const secretId = (res.json() as { ID: string }).ID;
  assert.equal(store.view((tx) => tx.get('secrets', secretId)!.Spec.Data), undefined, 'stored without Spec.Data');
  await store.update((tx) =>
    tx.create('tasks', {
      ID: 't'.repeat(25),
      ServiceID: 's'.repeat(25),
      Slot: 1,
      NodeID: 'n1',
      Spec: { ContainerSpec: { Image: 'busybox', Secrets: [{ SecretID: secretId, SecretName: 'pw', File: { Name: 'pw', UID: '0', GID: '0', Mode: 0o444 } }] } },
      DesiredState: 'running',
      Status: { Timestamp: new Date(0).toISOString(), State: 'assigned', Message: '' },
      ServiceAnnotations: { Name: 'svc' },
    }),
  );

  const received = async (reveal: (s: Secret) => Secret): Promise<AssignmentMessage> => {
    const d = new Dispatcher({ heartbeatPeriodMs: 60_000, revealSecret: reveal });
    d.start({ store, now: Date.now, random: Math.random, log: quiet, nodeId: 'm1' });
    const sid = d.session('n1', { addr: '127.0.0.2' }, { send() {}, end() {} });
    const got: AssignmentMessage[] = [];
    d.assignments('n1', sid, { send: (m) => void got.push(m), end() {} });
    await d.stop();
    return got[0]!;
  };
  const msg = await received((s) => leader.reveal(s));
  const sec = msg.changes.find((c) => c.kind === 'secret' && c.action === 'update');
  assert.ok(sec && sec.action === 'update' && sec.kind === 'secret');
  assert.equal(Buffer.from(sec.secret.Spec.Data!, 'base64').toString(), 'letmein');
  assert.equal(sec.secret.SealedData, undefined);

  // a manager the key was never wrapped for: the secret is left out, the task still goes
  const stranger = new SecretKeyring({ nodeId: 'm9', privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, store });
  const msg2 = await received((s) => stranger.reveal(s));
  assert.deepEqual(msg2.changes.map((c) => c.kind), ['task']);
  await app.close();
  store.close();
});
