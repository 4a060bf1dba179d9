/**
 * `swarm init --force-new-cluster` on a manager that survived a quorum loss (SwarmKit's
 * loadAndStart(forceNewCluster) / etcd's restartAsStandaloneNode): from its own Raft log, a new log
 * whose only voter is this manager and whose first snapshot holds every committed object.
 *   1. open the snapshot and WAL; replay the committed entries (uncommitted ones are discarded) into a
 *      store to get the committed state;
 *   2. write a fresh log: one snapshot at the commit index, configuration {this member}, members map
 *      {this member → its address}, hard state keeping the term (no vote);
 *   3. swap directories (the old log is kept beside it as raft.old-<time>).
 * Raft indexes continue where they were, so every object keeps its Version.Index.
 */
import { existsSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EntryType, type ConfState } from '../raft/core/types.js';
import { DiskStorage } from '../raft/disk-storage.js';
import { unwrapProposal, unwrapSnapshot, wrapSnapshot } from '../raft/raft-envelope.js';
import { ReplicatedStore } from '../store/index.js';

export interface ForceNewClusterResult {
  /** the commit index the new log starts from */
  index: number;
  /** objects kept, per table */
  objects: number;
  /** where the old log was moved */
  oldDir: string;
}

export async function forceNewCluster(raftDir: string, raftId: number, advertiseAddr: string, now: Date = new Date()): Promise<ForceNewClusterResult> {
  const old = await DiskStorage.open(raftDir);
  let appData: Uint8Array;
  let commit: number;
  let commitTerm: number;
  let term: number;
  let objects = 0;
  try {
    if (old.isNew()) throw new Error(`${raftDir}: no raft state to recover from`);
    const mem = old.storage;
    const { hardState } = mem.initialState();
    commit = hardState.commit;
    if (commit === 0) throw new Error(`${raftDir}: nothing was ever committed; there is no cluster to recover`);
    term = hardState.term;
    const snap = mem.snapshot();
    const store = new ReplicatedStore({
      proposer: { isLeader: () => false, propose: () => Promise.reject(new Error('replay only')) },
      origin: 'force-new-cluster',
      now: () => now.toISOString(),
    });
    if (snap.metadata.index > 0) store.restore(unwrapSnapshot(snap.data).app);
    const from = Math.max(snap.metadata.index + 1, mem.firstIndex());
    if (commit >= from) {
      for (const e of mem.entries(from, commit + 1, Number.MAX_SAFE_INTEGER)) {
        if (e.type !== EntryType.Normal) continue;
        const w = unwrapProposal(e.data);
        if (w !== undefined) store.applyCommitted(w.payload, e.index);
      }
    }
    commitTerm = commit === 0 ? 0 : mem.term(commit);
    appData = store.snapshot();
    objects = store.view((tx) => ['clusters', 'nodes', 'services', 'tasks', 'networks', 'volumes', 'secrets', 'configs'].reduce((a, t) => a + tx.count(t as 'nodes'), 0));
    store.close();
  } finally {
    old.close();
  }
  const fresh = `${raftDir}.new`;
  await rm(fresh, { recursive: true, force: true });
  const ns = DiskStorage.openSync(fresh);
  try {
    const confState: ConfState = { voters: [raftId], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    ns.saveSync({
      snapshot: { metadata: { index: commit, term: commitTerm, confState }, data: wrapSnapshot(new Map([[raftId, advertiseAddr]]), appData) },
      hardState: { term, vote: 0, commit },
      entries: [],
      mustSync: true,
    });
  } finally {
    ns.close();
  }
  const oldDir = `${raftDir}.old-${now.getTime()}`;
  if (existsSync(raftDir)) await rename(raftDir, oldDir);
  await rename(fresh, raftDir);
  const d = await open(dirname(raftDir), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
  return { index: commit, objects, oldDir };
}
