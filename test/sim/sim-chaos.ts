// The fault schedule of the chaos phase: partitions (symmetric and one-way), healing, lossy and
// duplicating and reordering network settings, crashes and restarts (of any node or of the leader),
// process pauses (of any node or of the leader), and leadership transfers. Every choice comes from the world's seeded randomness.

import { CALM } from './sim-network.js';
import type { SimNode } from './sim-node.js';
import { currentLeader, liveNodes, pick, type World } from './sim-world.js';

export interface ChaosOptions {
  /** Mean gap between faults, in virtual time units. */
  every: number;
  /** Longest downtime of a crashed node. */
  maxDowntime: number;
}

export class Chaos {
  constructor(private readonly w: World, private readonly o: ChaosOptions) {}

  start(): void {
    this.schedule();
  }

  private schedule(): void {
    this.w.q.after(1 + this.w.rnd(this.o.every * 2), 'fault', () => {
      if (!this.w.chaos) return;
      this.fault();
      this.schedule();
    });
  }

  crash(n: SimNode): void {
    if (!n.up) return;
    this.w.trace?.(`  crash n${n.id}`);
    n.crash();
    this.w.stats.crashes++;
  }

  restart(n: SimNode): void {
    if (n.up || this.w.removed.has(n.id)) return;
    this.w.trace?.(`  restart n${n.id}`);
    n.start();
    this.w.stats.restarts++;
    this.w.touch(n);
  }

  private crashFor(n: SimNode | undefined): void {
    if (!n) return;
    this.crash(n);
    this.w.q.after(20 + this.w.rnd(this.o.maxDowntime), `restart n${n.id}`, () => this.restart(n));
  }

  private fault(): void {
    const w = this.w;
    const r = w.rnd(100);
    const live = liveNodes(w);
    const ids = [...w.nodes.keys()].filter((id) => !w.removed.has(id)).sort((a, b) => a - b);
    if (r < 18) {
      // Partition: a random minority (sometimes a majority) against the rest.
      const shuffled = ids.map((id) => ({ id, k: w.rnd(1000) })).sort((a, b) => a.k - b.k).map((x) => x.id);
      const size = 1 + w.rnd(Math.max(1, ids.length - 1));
      const a = shuffled.slice(0, size);
      const b = shuffled.slice(size);
      const kind = w.rnd(4);
      if (kind === 0) w.net.partition(a, b, false);
      else if (kind === 1) w.net.partition(b, a, false);
      else w.net.partition(a, b, true);
      w.stats.partitions++;
      w.trace?.(`  partition ${kind === 0 ? `${a}->${b} one-way` : kind === 1 ? `${b}->${a} one-way` : `${a} | ${b}`}`);
    } else if (r < 33) {
      w.net.heal();
      w.trace?.('  heal');
    } else if (r < 45) {
      this.crashFor(pick(w.rnd, live));
    } else if (r < 52) {
      this.crashFor(currentLeader(w));
    } else if (r < 64) {
      w.net.faults = {
        dropPerMille: w.rnd(250),
        dupPerMille: w.rnd(150),
        slowPerMille: w.rnd(80),
        minDelay: 1,
        maxDelay: 2 + w.rnd(30),
        slowDelay: 50 + w.rnd(200),
      };
      w.trace?.(`  network ${JSON.stringify(w.net.faults)}`);
    } else if (r < 72) {
      w.net.faults = { ...CALM };
      w.trace?.('  network calm');
    } else if (r < 80) {
      const lead = currentLeader(w);
      const to = pick(w.rnd, ids);
      if (lead && lead.raw && to !== undefined) {
        lead.raw.transferLeader(to);
        w.stats.transfers++;
        w.trace?.(`  transfer leadership n${lead.id} -> n${to}`);
        w.touch(lead);
      }
    } else if (r < 84) {
      const n = pick(w.rnd, live);
      if (n?.raw && n.role !== 'leader') {
        n.raw.campaign();
        w.trace?.(`  n${n.id} campaigns`);
        w.touch(n);
      }
    } else if (r < 92) {
      const n = w.rnd(2) === 0 ? currentLeader(w) : pick(w.rnd, live);
      if (n?.raw) {
        const until = w.q.now + 30 + w.rnd(this.o.maxDowntime);
        n.pausedUntil = until;
        w.stats.pauses++;
        w.trace?.(`  pause n${n.id} until t=${until}`);
        w.q.at(until, `n${n.id} wakes up`, () => w.touch(n));
      }
    }
  }

  /** The end of the chaos phase: heal everything and bring every member back. */
  stabilise(): void {
    const w = this.w;
    w.chaos = false;
    w.net.heal();
    w.net.faults = { ...CALM };
    for (const n of w.nodes.values()) this.restart(n);
    w.trace?.('  stabilise: healed, calm, every member up');
  }
}
