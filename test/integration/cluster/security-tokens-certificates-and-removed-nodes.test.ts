// Who may do what: a join with a wrong, rotated-out or foreign-CA token is refused and leaves the node
// out of the swarm; a worker's certificate gets PERMISSION_DENIED from control RPCs (control
// forwarding, Raft membership, Raft messages); a removed node's certificate is refused everywhere and
// the node reports the removal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { channelCredentials, channelOptions, formatJoinToken, generateJoinSecret, KeyStore, parseJoinToken } from '../../../manager/ca/index.js';
import { caPath } from '../../../manager/node/ca-service.js';
import { FORWARD_PATH } from '../../../manager/node/control-forward.js';
import { unary } from '../../../manager/node/grpc-json.js';
import { JOIN_PATH } from '../../../manager/node/membership-service.js';
import { MESSAGES_PATH } from '../../../manager/raft/transport/transport-service.js';
import { encodeBatch } from '../../../manager/raft/transport/transport-wire.js';
import { SwarmLab, type SwarmHost, until } from './swarm-lab.js';

async function clientAs(h: SwarmHost, target: SwarmHost): Promise<grpc.Client> {
  const id = await new KeyStore(join(h.dataRoot, 'swarm')).read();
  if (!id) throw new Error(`${h.name} has no certificate`);
  return new grpc.Client(target.addr, channelCredentials(id, id.rootPem), { ...channelOptions(), 'grpc.use_local_subchannel_pool': 1 });
}

const code = async (p: Promise<unknown>): Promise<number | undefined> => p.then(() => undefined, (e: unknown) => (e as grpc.ServiceError).code);

function raftMessages(c: grpc.Client): Promise<number | undefined> {
  return new Promise((resolve) => {
    const call = c.makeClientStreamRequest(MESSAGES_PATH, (b: Buffer) => b, (b: Buffer) => b, new grpc.Metadata(), { deadline: Date.now() + 10_000 },
      (err: grpc.ServiceError | null) => resolve(err?.code));
    call.write(encodeBatch({ from: 99, messages: [] }));
    call.end();
  });
}

test('tokens, worker certificates on control RPCs and removed nodes are refused', async () => {
  const lab = await SwarmLab.start(['m1', 'w1', 'w2', 'j1']);
  try {
    const { workerToken } = await lab.form('m1', [], ['w1', 'w2']);
    const [m1, w1, w2, j1] = [lab.host('m1'), lab.host('w1'), lab.host('w2'), lab.host('j1')];
    const inactive = async () => (await j1.dockerOk(['info', '--format', '{{.Swarm.LocalNodeState}}'])).trim();

    // a wrong secret with the right CA digest
    const t = parseJoinToken(workerToken);
    const wrong = formatJoinToken(t.caDigest, generateJoinSecret(randomBytes));
    let r = await j1.docker(['swarm', 'join', '--token', wrong, m1.addr]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /A valid join token is necessary to join this cluster/);
    assert.equal(await inactive(), 'inactive');
    // rotated out
    await m1.dockerOk(['swarm', 'join-token', '--rotate', 'worker']);
    r = await j1.docker(['swarm', 'join', '--token', workerToken, m1.addr]);
    assert.match(r.stderr, /A valid join token is necessary to join this cluster/);
    assert.equal(await inactive(), 'inactive');
    // a token naming another CA: the joiner refuses the manager's root before sending anything
    const foreign = formatJoinToken(randomBytes(32).toString('hex'), t.secret);
    r = await j1.docker(['swarm', 'join', '--token', foreign, m1.addr]);
    assert.match(r.stderr, /the remote CA does not match the join token/);
    assert.equal(await inactive(), 'inactive');
    assert.equal((await m1.nodeLs()).length, 3, 'no node was added by the refused joins');

    // a worker's certificate may not call control RPCs
    const asWorker = await clientAs(w1, m1);
    try {
      assert.equal(await code(unary(asWorker, FORWARD_PATH, { method: 'GET', url: '/nodes' }, 10_000)), grpc.status.PERMISSION_DENIED);
      assert.equal(await code(unary(asWorker, JOIN_PATH, { raftId: 77, addr: '127.0.0.1:1' }, 10_000)), grpc.status.PERMISSION_DENIED);
      assert.equal(await raftMessages(asWorker), grpc.status.PERMISSION_DENIED);
      // …but its own status is fine
      assert.equal((await unary<{ role: string }>(asWorker, caPath('NodeStatus'), {}, 10_000)).role, 'worker');
    } finally {
      asWorker.close();
    }

    // a removed node's certificate is refused and the node says so
    await m1.dockerOk(['node', 'rm', '--force', 'w2']);
    assert.deepEqual((await m1.nodeLs()).map((x) => x.hostname).sort(), ['m1', 'w1']);
    const asRemoved = await clientAs(w2, m1);
    try {
      assert.equal(await code(unary(asRemoved, caPath('NodeStatus'), {}, 10_000)), grpc.status.PERMISSION_DENIED);
      assert.equal(await code(unary(asRemoved, caPath('RenewNodeCertificate'), { csr: 'x' }, 10_000)), grpc.status.PERMISSION_DENIED);
    } finally {
      asRemoved.close();
    }
    const state = await until('w2 to report its removal', async () => {
      const s = JSON.parse(await w2.dockerOk(['info', '--format', '{{json .Swarm}}'])) as { LocalNodeState: string; Error: string };
      return s.LocalNodeState === 'error' ? s : undefined;
    });
    assert.match(state.Error, /removed from the swarm/);
    assert.equal((await m1.nodeLs()).length, 2, 'the removed node did not come back');
  } catch (e) {
    console.log(lab.logs());
    throw e;
  } finally {
    assert.deepEqual(await lab.cleanup(), [], 'nothing left behind');
  }
});
