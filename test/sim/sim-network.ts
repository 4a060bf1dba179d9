// The virtual network: every message gets a random delay (so messages reorder), may be dropped or
// duplicated, and is refused on a cut link. Links are directed, so partitions can be asymmetric.

import { cloneConfState } from '../../manager/raft/core/memory-storage.js';
import { MessageType, type Message, type NodeId, type RandomInt } from '../../manager/raft/core/types.js';
import type { EventQueue } from './event-queue.js';

export interface NetworkFaults {
  /** Per mille. */
  dropPerMille: number;
  dupPerMille: number;
  /** Per mille of messages that get a long delay (strong reordering). */
  slowPerMille: number;
  minDelay: number;
  maxDelay: number;
  slowDelay: number;
}

export const CALM: NetworkFaults = { dropPerMille: 0, dupPerMille: 0, slowPerMille: 0, minDelay: 1, maxDelay: 5, slowDelay: 0 };

export type DeliveryOutcome = 'delivered' | 'dropped' | 'cut';

export interface NetworkHooks {
  deliver(m: Message): void;
}

/** Tells the sender what happened to a message it sent (for ReportSnapshot / ReportUnreachable). */
export type OutcomeHook = (o: DeliveryOutcome) => void;

/** A deep copy of a message (what a serializing transport delivers): no object or buffer is shared. */
export function cloneMessage(m: Message): Message {
  const out: Message = {
    ...m,
    entries: m.entries.map((e) => ({ term: e.term, index: e.index, type: e.type, data: e.data.slice() })),
    context: m.context.slice(),
  };
  if (m.snapshot) {
    const md = m.snapshot.metadata;
    out.snapshot = { data: m.snapshot.data.slice(), metadata: { index: md.index, term: md.term, confState: cloneConfState(md.confState) } };
  }
  return out;
}

const TYPE_NAMES = new Map<number, string>(Object.entries(MessageType).map(([k, v]) => [v, k]));

/** A short description of a message for traces: type, route, term and the fields that matter for it. */
export function describeMessage(m: Message): string {
  let d = `${TYPE_NAMES.get(m.type) ?? m.type} ${m.from}->${m.to} t${m.term}`;
  if (m.type === MessageType.App) d += ` prev=${m.index}@${m.logTerm} n=${m.entries.length} commit=${m.commit}`;
  else if (m.type === MessageType.AppResp) d += ` index=${m.index}${m.reject ? ` reject hint=${m.rejectHint}@${m.logTerm}` : ''}`;
  else if (m.type === MessageType.Heartbeat) d += ` commit=${m.commit}`;
  else if (m.type === MessageType.Snap) d += ` snap=${m.snapshot?.metadata.index ?? '?'}`;
  else if (m.type === MessageType.Vote || m.type === MessageType.PreVote) d += ` last=${m.index}@${m.logTerm}`;
  else if (m.type === MessageType.VoteResp || m.type === MessageType.PreVoteResp) d += m.reject ? ' reject' : ' grant';
  return d;
}

export class SimNetwork {
  faults: NetworkFaults = { ...CALM };
  private cut = new Set<number>();
  sent = 0;
  dropped = 0;
  duplicated = 0;

  constructor(private readonly q: EventQueue, private readonly rnd: RandomInt, private readonly hooks: NetworkHooks) {}

  private static link(from: NodeId, to: NodeId): number {
    return from * 0x10000 + to;
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(SimNetwork.link(from, to));
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(SimNetwork.link(from, to));
  }

  /** Cuts every link between group a and group b, in both directions or only a → b. */
  partition(a: NodeId[], b: NodeId[], symmetric: boolean): void {
    for (const x of a) for (const y of b) {
      this.cutLink(x, y);
      if (symmetric) this.cutLink(y, x);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  describeCuts(): string {
    return [...this.cut].sort((a, b) => a - b).map((l) => `${Math.floor(l / 0x10000)}>${l % 0x10000}`).join(' ');
  }

  send(m: Message, outcome: OutcomeHook): void {
    this.sent++;
    const f = this.faults;
    if (this.isCut(m.from, m.to)) {
      this.dropped++;
      this.q.after(1, () => `cut ${describeMessage(m)}`, () => outcome('cut'));
      return;
    }
    if (this.rnd(1000) < f.dropPerMille) {
      this.dropped++;
      this.q.after(f.maxDelay, () => `drop ${describeMessage(m)}`, () => outcome('dropped'));
      return;
    }
    const copies = this.rnd(1000) < f.dupPerMille ? 2 : 1;
    if (copies === 2) this.duplicated++;
    for (let i = 0; i < copies; i++) {
      // Every copy is a deep copy, as if serialized: sender and receiver never share objects.
      const wire = cloneMessage(m);
      const slow = this.rnd(1000) < f.slowPerMille;
      const delay = slow ? f.slowDelay + this.rnd(f.slowDelay + 1) : f.minDelay + this.rnd(f.maxDelay - f.minDelay + 1);
      this.q.after(delay, () => `deliver ${describeMessage(m)}`, () => {
        // A link cut while the message was in flight loses it too.
        if (this.isCut(m.from, m.to)) { outcome('cut'); return; }
        this.hooks.deliver(wire);
        if (i === 0) outcome('delivered');
      });
    }
  }
}
