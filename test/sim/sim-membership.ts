// Membership changes during a run: a learner joins and is promoted, or a voter is removed and a new
// voter (a fresh id, never reused) is added. Each step is proposed to the current leader and retried
// until some node applies it; a removed node is stopped and cut off, as a real transport would.

import { ConfChangeTransition, ConfChangeType, type ConfChangeV2, type ConfState, type NodeId } from '../../manager/raft/core/types.js';
import type { SimNode } from './sim-node.js';
import { currentLeader, type World } from './sim-world.js';

export type MembershipPlan = 'none' | 'learner' | 'replace';

interface Step {
  kind: 'add-learner' | 'promote' | 'add-voter' | 'remove';
  id: NodeId;
}

export class Membership {
  private readonly steps: Step[];
  private at = 0;
  private lastProposed = -Infinity;

  constructor(
    private readonly w: World,
    plan: MembershipPlan,
    initial: NodeId[],
    private readonly addNode: (id: NodeId) => SimNode,
  ) {
    const fresh = Math.max(...initial) + 1;
    const victim = initial[w.rnd(initial.length)]!;
    this.steps = plan === 'learner' ? [{ kind: 'add-learner', id: fresh }, { kind: 'promote', id: fresh }] :
      plan === 'replace' ? [{ kind: 'remove', id: victim }, { kind: 'add-voter', id: fresh }] : [];
  }

  get done(): boolean {
    return this.at >= this.steps.length;
  }

  describe(): string {
    return this.steps.map((s) => `${s.kind} n${s.id}`).join(', ') || 'none';
  }

  start(): void {
    if (this.steps.length > 0) this.schedule();
  }

  private schedule(): void {
    this.w.q.after(150 + this.w.rnd(300), 'membership', () => {
      if (this.done) return;
      this.tryPropose();
      this.schedule();
    });
  }

  private tryPropose(): void {
    const step = this.steps[this.at]!;
    if (this.w.q.now - this.lastProposed < 800) return;
    const lead = currentLeader(this.w);
    if (!lead?.raw) return;
    if ((step.kind === 'add-learner' || step.kind === 'add-voter') && !this.w.nodes.has(step.id)) this.addNode(step.id);
    const type = step.kind === 'add-learner' ? ConfChangeType.AddLearnerNode :
      step.kind === 'remove' ? ConfChangeType.RemoveNode : ConfChangeType.AddNode;
    const cc: ConfChangeV2 = { transition: ConfChangeTransition.Auto, changes: [{ type, nodeId: step.id }], context: new Uint8Array() };
    const res = lead.raw.proposeConfChange(cc);
    this.w.trace?.(`  n${lead.id} proposes ${step.kind} n${step.id}: ${res.ok ? 'accepted' : res.detail}`);
    if (res.ok) this.lastProposed = this.w.q.now;
    this.w.touch(lead);
  }

  /** Called by every node for every conf change it applies. */
  onApplied(node: SimNode, cc: ConfChangeV2, cs: ConfState): void {
    this.w.stats.confChangesApplied++;
    for (const ch of cc.changes) {
      if (ch.type === ConfChangeType.RemoveNode && !this.w.removed.has(ch.nodeId)) {
        this.w.removed.add(ch.nodeId);
        const gone = this.w.nodes.get(ch.nodeId);
        this.w.trace?.(`  n${ch.nodeId} removed (applied on n${node.id}); stopping it`);
        if (gone?.up && gone !== node) gone.crash();
        else if (gone === node) this.w.q.after(0, `stop n${node.id}`, () => node.crash());
      }
    }
    const step = this.steps[this.at];
    if (!step) return;
    const effective = step.kind === 'add-learner' ? cs.learners.includes(step.id) :
      step.kind === 'remove' ? !cs.voters.includes(step.id) && !cs.learners.includes(step.id) :
      cs.voters.includes(step.id);
    if (effective) {
      this.at++;
      this.lastProposed = -Infinity;
    }
  }
}
