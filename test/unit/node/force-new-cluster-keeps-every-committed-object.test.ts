// A manager's Raft log of a 3-voter cluster with 5 store writes of which 3 were committed: forcing a
// new cluster keeps exactly the committed objects, makes this manager the only voter, and a RaftNode
// started on the result leads alone and keeps writing at indexes after the old commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forceNewCluster } from '../../../manager/node/force-new-cluster.js';
import { EntryType } from '../../../manager/raft/core/types.js';
import { DiskStorage } from '../../../manager/raft/disk-storage.js';
import { coreModule } from '../../../manager/raft/load-core.js';
import { wrapProposal } from '../../../manager/raft/raft-envelope.js';
import { RaftNode } from '../../../manager/raft/raft-node.js';
import { GrpcTransport } from '../../../manager/raft/transport/grpc-transport.js';
import { ReplicatedStore } from '../../../manager/store/index.js';
import { node, T0 } from '../store/fixtures.js';

test('force-new-cluster keeps every committed object, drops uncommitted ones, and leaves one voter that leads alone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-fnc-'));
  try {
    // batches as a leader's store would propose them
    const proposed: Uint8Array[] = [];
    const author = new ReplicatedStore({
      proposer: { isLeader: () => true, propose: (d) => { proposed.push(d); return new Promise(() => undefined); } },
      origin: 'old-leader', now: () => T0,
    });
    for (const [i, h] of ['a', 'b', 'c', 'd', 'e'].entries()) void author.update((tx) => tx.create('nodes', node(`n${i}`, h))).catch(() => undefined);
    assert.equal(proposed.length, 5);
    const raftDir = join(dir, 'raft');
    const st = await DiskStorage.open(raftDir);
    st.bootstrap([1, 2, 3]);
    const entries = proposed.map((d, i) => ({ term: 2, index: i + 1, type: EntryType.Normal, data: wrapProposal({ node: 2, epoch: 7, seq: i + 1 }, d) }));
    st.saveSync({ entries, hardState: { term: 3, vote: 2, commit: 3 }, mustSync: true });
    st.close();

    const r = await forceNewCluster(raftDir, 1, '127.0.0.1:1');
    assert.equal(r.index, 3);
    assert.equal(r.objects, 3);
    assert.ok((await readdir(dir)).some((f) => f.startsWith('raft.old-')), 'the old log is kept aside');

    const store = new ReplicatedStore({
      proposer: { isLeader: () => raft.isLeader, propose: (d) => raft.propose(d).then((x) => ({ index: x.index })) },
      origin: 'survivor', now: () => T0,
    });
    const transport = new GrpcTransport({ id: 1, listen: '127.0.0.1:0' });
    const raft: RaftNode = await RaftNode.start({
      id: 1, storage: await DiskStorage.open(raftDir), transport, core: coreModule(), tickMs: 20,
      stateMachine: { apply: (d, i) => store.applyCommitted(d, i), snapshot: () => store.snapshot(), restore: (d) => store.restore(d) },
    });
    try {
      assert.deepEqual(store.view((tx) => tx.find('nodes').map((n) => n.ID)), ['n0', 'n1', 'n2']);
      assert.deepEqual(store.view((tx) => tx.find('nodes').map((n) => n.Meta.Version.Index)), [1, 2, 3], 'versions are the old raft indexes');
      for (let i = 0; i < 100 && !raft.isLeader; i++) await new Promise((res) => setTimeout(res, 20));
      assert.ok(raft.isLeader, 'the single voter elects itself');
      assert.deepEqual(raft.status().core.config.voters, [1]);
      const w = await store.update((tx) => tx.create('nodes', node('after', 'f')));
      assert.ok(w.index > 3, `new writes continue after the old commit (got ${w.index})`);
    } finally {
      await raft.stop();
      store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
