// Membership changes on the tracker's configuration (etcd-io/raft confchange/): simple (one voter
// at a time), entering and leaving joint consensus, invariant checks, and restore from a ConfState.
// Every operation works on copies and returns the new configuration and progress map.

import { Inflights } from './inflights.js';
import { Progress } from './progress.js';
import { cloneTrackerConfig, emptyTrackerConfig, type ProgressMap, type TrackerConfig } from './tracker.js';
import { ConfChangeType, type ConfChangeSingle, type ConfState, type NodeId } from './types.js';

export class ConfChangeError extends Error {
  constructor(message: string) { super(`conf change: ${message}`); this.name = 'ConfChangeError'; }
}

export interface ConfChangeResult { config: TrackerConfig; progress: ProgressMap }

export interface ChangerContext {
  config: TrackerConfig;
  progress: ProgressMap;
  lastIndex: number;
  maxInflight: number;
  maxInflightBytes: number;
}

function cloneProgress(p: ProgressMap): ProgressMap {
  const out: ProgressMap = new Map();
  for (const [id, pr] of p) out.set(id, pr.clone());
  return out;
}

class Work {
  readonly cfg: TrackerConfig;
  readonly prs: ProgressMap;
  constructor(readonly ctx: ChangerContext) {
    this.cfg = cloneTrackerConfig(ctx.config);
    this.prs = cloneProgress(ctx.progress);
  }

  apply(ccs: readonly ConfChangeSingle[]): void {
    for (const cc of ccs) {
      if (cc.nodeId === 0) continue; // etcd: a zero id is a no-op (how apps reject a change)
      switch (cc.type) {
        case ConfChangeType.AddNode: this.makeVoter(cc.nodeId); break;
        case ConfChangeType.AddLearnerNode: this.makeLearner(cc.nodeId); break;
        case ConfChangeType.RemoveNode: this.remove(cc.nodeId); break;
        case ConfChangeType.UpdateNode: break;
        default: throw new ConfChangeError(`unknown change type ${String((cc as { type: unknown }).type)}`);
      }
    }
    if (this.cfg.voters.incoming.size === 0) throw new ConfChangeError('removed all voters');
  }

  private initProgress(id: NodeId, isLearner: boolean): void {
    const pr = new Progress(Math.max(this.ctx.lastIndex, 1), new Inflights(this.ctx.maxInflight, this.ctx.maxInflightBytes), isLearner);
    // Start active so a newly added node does not make check quorum fail right away.
    pr.recentActive = true;
    if (isLearner) this.cfg.learners.add(id);
    else this.cfg.voters.incoming.add(id);
    this.prs.set(id, pr);
  }

  private makeVoter(id: NodeId): void {
    const pr = this.prs.get(id);
    if (!pr) { this.initProgress(id, false); return; }
    pr.isLearner = false;
    this.cfg.learners.delete(id);
    this.cfg.learnersNext.delete(id);
    this.cfg.voters.incoming.add(id);
  }

  private makeLearner(id: NodeId): void {
    const pr = this.prs.get(id);
    if (!pr) { this.initProgress(id, true); return; }
    if (pr.isLearner) return;
    this.remove(id);
    this.prs.set(id, pr); // keep the progress
    if (this.cfg.voters.outgoing.has(id)) {
      this.cfg.learnersNext.add(id); // becomes a learner when the joint config is left
    } else {
      pr.isLearner = true;
      this.cfg.learners.add(id);
    }
  }

  private remove(id: NodeId): void {
    if (!this.prs.has(id)) return;
    this.cfg.voters.incoming.delete(id);
    this.cfg.learners.delete(id);
    this.cfg.learnersNext.delete(id);
    if (!this.cfg.voters.outgoing.has(id)) this.prs.delete(id);
  }

  result(): ConfChangeResult {
    checkInvariants(this.cfg, this.prs);
    return { config: this.cfg, progress: this.prs };
  }
}

/** Throws ConfChangeError when the configuration and progress map are inconsistent. */
export function checkInvariants(cfg: TrackerConfig, prs: ProgressMap): void {
  for (const ids of [cfg.voters.incoming, cfg.voters.outgoing, cfg.learners, cfg.learnersNext]) {
    for (const id of ids) if (!prs.has(id)) throw new ConfChangeError(`no progress for ${id}`);
  }
  for (const id of cfg.learnersNext) {
    if (!cfg.voters.outgoing.has(id)) throw new ConfChangeError(`${id} is in learnersNext, but not the outgoing voters`);
    if ((prs.get(id) as Progress).isLearner) throw new ConfChangeError(`${id} is in learnersNext, but is already marked as learner`);
  }
  for (const id of cfg.learners) {
    if (cfg.voters.outgoing.has(id)) throw new ConfChangeError(`${id} is in learners and outgoing voters`);
    if (cfg.voters.incoming.has(id)) throw new ConfChangeError(`${id} is in learners and incoming voters`);
    if (!(prs.get(id) as Progress).isLearner) throw new ConfChangeError(`${id} is in learners, but is not marked as learner`);
  }
  if (cfg.voters.outgoing.size === 0) {
    if (cfg.learnersNext.size > 0) throw new ConfChangeError('learnersNext must be empty when not joint');
    if (cfg.autoLeave) throw new ConfChangeError('autoLeave must be false when not joint');
  }
}

function symDiff(a: Set<NodeId>, b: Set<NodeId>): number {
  let n = 0;
  for (const x of a) if (!b.has(x)) n++;
  for (const x of b) if (!a.has(x)) n++;
  return n;
}

/** Applies changes that alter at most one voter, without joint consensus. */
export function simpleChange(ctx: ChangerContext, ccs: readonly ConfChangeSingle[]): ConfChangeResult {
  if (ctx.config.voters.outgoing.size > 0) throw new ConfChangeError('can\'t apply simple config change in joint config');
  const w = new Work(ctx);
  w.apply(ccs);
  if (symDiff(ctx.config.voters.incoming, w.cfg.voters.incoming) > 1) {
    throw new ConfChangeError('more than one voter changed without entering joint config');
  }
  return w.result();
}

/** Enters a joint configuration: the current voters become the outgoing half. */
export function enterJoint(ctx: ChangerContext, autoLeave: boolean, ccs: readonly ConfChangeSingle[]): ConfChangeResult {
  if (ctx.config.voters.outgoing.size > 0) throw new ConfChangeError('config is already joint');
  if (ctx.config.voters.incoming.size === 0) throw new ConfChangeError('can\'t make a zero-voter config joint');
  const w = new Work(ctx);
  for (const id of w.cfg.voters.incoming) w.cfg.voters.outgoing.add(id);
  w.apply(ccs);
  w.cfg.autoLeave = autoLeave;
  return w.result();
}

/** Leaves the joint configuration: learnersNext become learners, removed outgoing voters go. */
export function leaveJoint(ctx: ChangerContext): ConfChangeResult {
  if (ctx.config.voters.outgoing.size === 0) throw new ConfChangeError('can\'t leave a non-joint config');
  const w = new Work(ctx);
  for (const id of w.cfg.learnersNext) {
    w.cfg.learners.add(id);
    (w.prs.get(id) as Progress).isLearner = true;
  }
  w.cfg.learnersNext.clear();
  for (const id of w.cfg.voters.outgoing) {
    if (!w.cfg.voters.incoming.has(id) && !w.cfg.learners.has(id)) w.prs.delete(id);
  }
  w.cfg.voters.outgoing.clear();
  w.cfg.autoLeave = false;
  return w.result();
}

/** Rebuilds configuration and progress from a ConfState (snapshot or initial state). */
export function restoreConfState(cs: ConfState, lastIndex: number, maxInflight: number, maxInflightBytes: number): ConfChangeResult {
  const cfg = emptyTrackerConfig();
  const prs: ProgressMap = new Map();
  const add = (id: NodeId, learner: boolean): void => {
    if (!prs.has(id)) {
      const pr = new Progress(Math.max(lastIndex, 1), new Inflights(maxInflight, maxInflightBytes), learner);
      pr.recentActive = true;
      prs.set(id, pr);
    }
  };
  for (const id of cs.voters) { cfg.voters.incoming.add(id); add(id, false); }
  for (const id of cs.votersOutgoing) { cfg.voters.outgoing.add(id); add(id, false); }
  for (const id of cs.learners) { cfg.learners.add(id); add(id, true); }
  for (const id of cs.learnersNext) { cfg.learnersNext.add(id); add(id, false); }
  cfg.autoLeave = cs.votersOutgoing.length > 0 && cs.autoLeave;
  if (cs.autoLeave && cs.votersOutgoing.length === 0) throw new ConfChangeError('autoLeave set in a non-joint ConfState');
  checkInvariants(cfg, prs);
  return { config: cfg, progress: prs };
}
