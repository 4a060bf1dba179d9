// The Raft invariants (raft.md §5.3), checked by the simulator after every step. The monitor sees
// what each node writes to its simulated disk, what it applies, and its status; it keeps global
// history so that properties over the whole run (one leader per term, state machine safety,
// leader completeness) are checked, not just properties of one instant.

import type { ConfState, Entry, HardState, NodeId, ProgressStatus, RaftRole, Snapshot, Storage } from '../../manager/raft/core/types.js';

export class InvariantViolation extends Error {
  constructor(readonly invariant: string, detail: string) {
    super(`${invariant}: ${detail}`);
    this.name = 'InvariantViolation';
  }
}

/** What the monitor needs from a node's disk. */
export interface DiskView extends Storage {
  hardState(): HardState;
}

export interface PersistBatch {
  hardState?: HardState | undefined;
  entries: Entry[];
  snapshot?: Snapshot | undefined;
}

function hashBytes(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return (h ^ b.length) >>> 0;
}

function entryHash(e: Entry): string {
  return `${e.type}:${hashBytes(e.data)}:${e.data.length}`;
}

function termAt(disk: Storage, i: number): number | undefined {
  if (i === 0) return 0;
  try {
    return disk.term(i);
  } catch {
    return undefined;
  }
}

export class SafetyMonitor {
  /** term → the leader of that term: a node and its incarnation (a restart cannot lead the same term again). */
  private readonly leaderOfTerm = new Map<number, { id: NodeId; incarnation: number }>();
  /** `${node}@${term}` → the one candidate that node voted for in that term (over all its incarnations). */
  private readonly votes = new Map<string, NodeId>();
  /** index → term → the entry's identity (its predecessor's term and its content). */
  private readonly logIds = new Map<number, Map<number, { prevTerm: number | undefined; hash: string }>>();
  /** index → the entry every node applied there. */
  private readonly appliedAt = new Map<number, { term: number; hash: string; node: NodeId }>();
  /**
   * index → the entry committed there (its term) and the term in which it was committed: the lowest
   * current term of a node reporting it committed (the leader that committed it reports it first).
   */
  private readonly committedTerm = new Map<number, { term: number; commitTerm: number; node: NodeId }>();
  private maxCommitted = 0;
  /** node → the commit index up to which its log was already recorded. */
  private readonly commitSeen = new Map<NodeId, number>();
  /** `${node}@${term}` → committed indexes already checked against that leader's log. */
  private readonly leaderChecked = new Map<string, number>();
  leadersSeen = 0;

  /** Checks a Ready's hard state, entries and snapshot against the disk they are about to be written to. */
  checkPersist(id: NodeId, disk: DiskView, leaderTerm: number, b: PersistBatch): void {
    const old = disk.hardState();
    const hs = b.hardState;
    if (hs) {
      if (hs.term < old.term) throw new InvariantViolation('hard state term monotonic', `node ${id} writes term ${hs.term} over ${old.term}`);
      if (hs.commit < old.commit) throw new InvariantViolation('hard state commit monotonic', `node ${id} writes commit ${hs.commit} over ${old.commit}`);
      if (hs.term === old.term && old.vote !== 0 && hs.vote !== old.vote) {
        throw new InvariantViolation('vote fixed within a term', `node ${id} changes its vote in term ${hs.term} from ${old.vote} to ${hs.vote}`);
      }
    }
    const term = hs?.term ?? old.term;
    const stillLeader = leaderTerm !== 0 && term === leaderTerm;
    if (b.snapshot && b.snapshot.metadata.index > 0 && stillLeader) {
      throw new InvariantViolation('leader append-only', `node ${id}, leader of term ${leaderTerm}, installs a snapshot at ${b.snapshot.metadata.index}`);
    }
    const es = b.entries;
    for (let k = 0; k < es.length; k++) {
      const e = es[k]!;
      if (e.term > term) throw new InvariantViolation('log terms', `node ${id} writes entry ${e.index} of term ${e.term} while at term ${term}`);
      if (k > 0) {
        const p = es[k - 1]!;
        if (e.index !== p.index + 1) throw new InvariantViolation('log contiguous', `node ${id} writes entries ${p.index} then ${e.index}`);
        if (e.term < p.term) throw new InvariantViolation('log terms non-decreasing', `node ${id} writes entry ${e.index}@${e.term} after ${p.index}@${p.term}`);
      }
      if (stillLeader && e.index <= disk.lastIndex()) {
        const t = termAt(disk, e.index);
        if (t !== undefined && t !== e.term) {
          throw new InvariantViolation('leader append-only', `node ${id}, leader of term ${leaderTerm}, overwrites entry ${e.index}@${t} with term ${e.term}`);
        }
      }
    }
    if (es.length > 0) {
      const first = es[0]!;
      const base = b.snapshot && b.snapshot.metadata.index === first.index - 1 ? b.snapshot.metadata.term : termAt(disk, first.index - 1);
      if (base !== undefined && first.term < base) {
        throw new InvariantViolation('log terms non-decreasing', `node ${id} appends ${first.index}@${first.term} after term ${base}`);
      }
      for (let k = 0; k < es.length; k++) {
        const e = es[k]!;
        this.recordLogId(id, e, k === 0 ? base : es[k - 1]!.term);
      }
    }
  }

  /** Log Matching, via uniqueness: an (index, term) pair always names the same entry after the same predecessor term. */
  private recordLogId(id: NodeId, e: Entry, prevTerm: number | undefined): void {
    let byTerm = this.logIds.get(e.index);
    if (!byTerm) this.logIds.set(e.index, (byTerm = new Map()));
    const seen = byTerm.get(e.term);
    const hash = entryHash(e);
    if (!seen) {
      byTerm.set(e.term, { prevTerm, hash });
      return;
    }
    if (seen.hash !== hash) throw new InvariantViolation('log matching', `node ${id} holds a different entry at ${e.index}@${e.term} than another node`);
    if (prevTerm !== undefined && seen.prevTerm !== undefined && prevTerm !== seen.prevTerm) {
      throw new InvariantViolation('log matching', `node ${id} has entry ${e.index}@${e.term} after term ${prevTerm}, another node after term ${seen.prevTerm}`);
    }
    if (seen.prevTerm === undefined) seen.prevTerm = prevTerm;
  }

  /**
   * One vote per term (§5.2), over the whole run and across restarts: a vote a node records in its
   * hard state or grants on the wire. A node that forgets a vote it gave, and gives another, is caught
   * here even when no second leader results.
   */
  checkVote(id: NodeId, term: number, candidate: NodeId): void {
    if (candidate === 0) return;
    const key = `${id}@${term}`;
    const prev = this.votes.get(key);
    if (prev === undefined) this.votes.set(key, candidate);
    else if (prev !== candidate) {
      throw new InvariantViolation('one vote per term', `node ${id} votes for ${candidate} in term ${term} after voting for ${prev}`);
    }
  }

  /** After the disk write: the persisted commit never passes the persisted log. */
  checkDisk(id: NodeId, disk: DiskView): void {
    const hs = disk.hardState();
    if (hs.commit > disk.lastIndex()) throw new InvariantViolation('committed ≤ last index', `node ${id} commit ${hs.commit} > last index ${disk.lastIndex()} on disk`);
  }

  /**
   * Records what a node at term `term` reports committed: every index up to its commit, with the term
   * its log holds there (`termOf` answers undefined for compacted indexes). Committed entries are
   * final, so an index reported committed with two different terms is a violation; the record feeds
   * Leader Completeness.
   */
  checkCommit(id: NodeId, commit: number, term: number, termOf: (i: number) => number | undefined): void {
    const from = this.commitSeen.get(id) ?? 0;
    if (commit <= from) {
      this.commitSeen.set(id, commit); // a restart may come back with a lower (persisted) commit
      return;
    }
    for (let i = from + 1; i <= commit; i++) {
      const t = termOf(i);
      if (t === undefined) continue;
      const seen = this.committedTerm.get(i);
      if (seen === undefined) {
        this.committedTerm.set(i, { term: t, commitTerm: term, node: id });
        if (i > this.maxCommitted) this.maxCommitted = i;
      } else if (seen.term !== t) {
        throw new InvariantViolation('committed entries are final', `node ${id} has ${i}@${t} committed, node ${seen.node} had ${i}@${seen.term} committed`);
      } else if (term < seen.commitTerm) {
        seen.commitTerm = term;
      }
    }
    this.commitSeen.set(id, commit);
  }

  /** State Machine Safety: no two nodes apply different entries at one index. */
  checkApply(id: NodeId, e: Entry): void {
    const seen = this.appliedAt.get(e.index);
    const hash = entryHash(e);
    if (!seen) {
      this.appliedAt.set(e.index, { term: e.term, hash, node: id });
      return;
    }
    if (seen.term !== e.term || seen.hash !== hash) {
      throw new InvariantViolation('state machine safety', `node ${id} applies ${e.index}@${e.term} but node ${seen.node} applied ${e.index}@${seen.term} (different entry)`);
    }
  }

  /** Election Safety and Leader Completeness for a node's current role; plus per-node bounds. */
  checkNode(
    id: NodeId,
    s: {
      role: RaftRole; term: number; commit: number; applied: number; config: ConfState;
      progress?: Map<NodeId, ProgressStatus> | undefined; incarnation?: number;
    },
    appApplied: number,
    disk: DiskView,
    maxInflight = Infinity,
    leaderTermOf?: (i: number) => number | undefined,
  ): void {
    if (appApplied > s.commit) throw new InvariantViolation('applied ≤ committed', `node ${id} applied ${appApplied} > commit ${s.commit}`);
    if (s.applied > s.commit) throw new InvariantViolation('applied ≤ committed', `node ${id} status applied ${s.applied} > commit ${s.commit}`);
    const voters = new Set([...s.config.voters, ...s.config.votersOutgoing]);
    const both = [...s.config.learners, ...s.config.learnersNext].filter((l) => voters.has(l));
    if (both.length > 0) throw new InvariantViolation('voters ∩ learners = ∅', `node ${id} config has ${both.join(',')} as voter and learner`);
    if (s.role !== 'leader') return;
    for (const [peer, p] of s.progress ?? []) {
      if (!(p.match < p.next)) throw new InvariantViolation('progress match < next', `leader ${id} has match ${p.match}, next ${p.next} for ${peer}`);
      if (p.inflight > maxInflight) throw new InvariantViolation('inflight limit', `leader ${id} has ${p.inflight} messages in flight to ${peer} (max ${maxInflight})`);
    }
    const prev = this.leaderOfTerm.get(s.term);
    const inc = s.incarnation ?? 0;
    if (prev === undefined) {
      this.leaderOfTerm.set(s.term, { id, incarnation: inc });
      this.leadersSeen++;
    } else if (prev.id !== id) {
      throw new InvariantViolation('election safety', `nodes ${prev.id} and ${id} are both leader of term ${s.term}`);
    } else if (prev.incarnation !== inc) {
      throw new InvariantViolation('election safety', `node ${id} leads term ${s.term} again after a restart (incarnations ${prev.incarnation} and ${inc})`);
    }
    // Leader Completeness (§5.4): every entry committed in an earlier term is in this leader's log. A
    // leader of an old term (elected late, by delayed votes) need not have entries committed later.
    const key = `${id}@${s.term}`;
    const from = this.leaderChecked.get(key) ?? 0;
    const first = disk.firstIndex();
    const upTo = this.maxCommitted;
    for (let i = from + 1; i <= upTo; i++) {
      const c = this.committedTerm.get(i);
      if (!c || c.commitTerm >= s.term || i < first) continue;
      const t = leaderTermOf ? leaderTermOf(i) : termAt(disk, i);
      if (t !== c.term) {
        throw new InvariantViolation('leader completeness', `leader ${id} of term ${s.term} lacks entry ${i}@${c.term}, committed in term ${c.commitTerm} (has term ${t ?? 'none'})`);
      }
    }
    this.leaderChecked.set(key, upTo);
  }
}
