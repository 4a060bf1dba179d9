// The simulator's virtual clock: a binary heap of events ordered by (time, insertion sequence), so
// that two runs with the same seed pop the same events in the same order.

/** An event's description for traces and failure reports; a function when building it costs. */
export type Label = string | (() => string);

export interface SimEvent {
  time: number;
  seq: number;
  run: () => void;
  label: Label;
}

export function labelOf(e: SimEvent): string {
  return typeof e.label === 'string' ? e.label : e.label();
}

export class EventQueue {
  private heap: SimEvent[] = [];
  private seq = 0;
  now = 0;

  get size(): number {
    return this.heap.length;
  }

  at(time: number, label: Label, run: () => void): void {
    this.push({ time: Math.max(time, this.now), seq: this.seq++, run, label });
  }

  after(delay: number, label: Label, run: () => void): void {
    this.at(this.now + delay, label, run);
  }

  /** Removes and returns the earliest event, advancing the clock to it. */
  pop(): SimEvent | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.down(0);
    }
    this.now = top.time;
    return top;
  }

  private less(a: SimEvent, b: SimEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(e: SimEvent): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
