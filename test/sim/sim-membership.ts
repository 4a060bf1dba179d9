// Membership changes during a run: a learner joins and is promoted; or a voter is removed and a new
// voter (a fresh id, never reused) is added; or both at once through joint consensus (enter the joint
// config, leave it automatically). Each step is proposed to the current leader and retried until some
// node applies it; a node that has left every part of the config is stopped and cut off, as a real
// transport would.

import { ConfChangeTransition, ConfChangeType, type ConfChangeV2, type ConfState, type NodeId } from '../../manager/raft/core/types.js';
import type { SimNode } from './sim-node.js';
import { currentLeader, type World } from './sim-world.js';

export type MembershipPlan = 'none' | 'learner' | 'replace' | 'joint';
export const MEMBERSHIP_PLANS: readonly MembershipPlan[] = ['none', 'learner', 'replace', 'joint'];

interface Step {
  kind: 'add-learner' | 'promote' | 'add-voter' | 'remove' | 'joint-replace';
  id: NodeId;
  /** joint-replace: the voter that leaves. */
  victim?: NodeId;
}

export class Membership {
  private readonly steps: Step[];
  private at = 0;
  private lastProposed = -Infinity;
  /** Every node that has been in an applied configuration. */
  private readonly members = new Set<NodeId>();

  constructor(
    private readonly w: World,
    plan: MembershipPlan,
    initial: NodeId[],
    private readonly addNode: (id: NodeId) => SimNode,
  ) {
    const fresh = Math.max(...initial) + 1;
    const victim = initial[w.rnd(initial.length)]!;
    for (const id of initial) this.members.add(id);
    this.steps = plan === 'learner' ? [{ kind: 'add-learner', id: fresh }, { kind: 'promote', id: fresh }] :
      plan === 'replace' ? [{ kind: 'remove', id: victim }, { kind: 'add-voter', id: fresh }] :
      plan === 'joint' ? [{ kind: 'joint-replace', id: fresh, victim }] : [];
  }

  get done(): boolean {
    return this.at >= this.steps.length;
  }

  describe(): string {
    return this.steps.map((s) => `${s.kind} n${s.id}${s.victim !== undefined ? ` for n${s.victim}` : ''}`).join(', ') || 'none';
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
    const adds = step.kind === 'add-learner' || step.kind === 'add-voter' || step.kind === 'joint-replace';
    if (adds && !this.w.nodes.has(step.id)) this.addNode(step.id);
    const type = step.kind === 'add-learner' ? ConfChangeType.AddLearnerNode :
      step.kind === 'remove' ? ConfChangeType.RemoveNode : ConfChangeType.AddNode;
    const changes = [{ type, nodeId: step.id }];
    if (step.kind === 'joint-replace') changes.push({ type: ConfChangeType.RemoveNode, nodeId: step.victim! });
    // Two changes with the Auto transition enter a joint config that the leader leaves by itself.
    const cc: ConfChangeV2 = { transition: ConfChangeTransition.Auto, changes, context: new Uint8Array() };
    const res = lead.raw.proposeConfChange(cc);
    this.w.trace?.(`  n${lead.id} proposes ${step.kind} n${step.id}: ${res.ok ? 'accepted' : res.detail}`);
    if (res.ok) this.lastProposed = this.w.q.now;
    this.w.touch(lead);
  }

  /** Called by every node for every conf change it applies. */
  onApplied(node: SimNode, _cc: ConfChangeV2, cs: ConfState): void {
    this.w.stats.confChangesApplied++;
    const inConfig = new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]);
    for (const id of inConfig) this.members.add(id);
    // A member that has left every part of the config (incoming, outgoing, learners) is removed.
    for (const id of [...this.members].sort((a, b) => a - b)) {
      if (inConfig.has(id) || this.w.removed.has(id)) continue;
      this.w.removed.add(id);
      const gone = this.w.nodes.get(id);
      this.w.trace?.(`  n${id} removed (applied on n${node.id}); stopping it`);
      if (gone?.up && gone !== node) gone.crash();
      else if (gone === node) this.w.q.after(0, `stop n${node.id}`, () => node.crash());
    }
    const step = this.steps[this.at];
    if (!step) return;
    const effective = step.kind === 'add-learner' ? cs.learners.includes(step.id) :
      step.kind === 'remove' ? !inConfig.has(step.id) :
      step.kind === 'joint-replace' ? cs.voters.includes(step.id) && !inConfig.has(step.victim!) :
      cs.voters.includes(step.id);
    if (effective) {
      this.at++;
      this.lastProposed = -Infinity;
    }
  }
}
