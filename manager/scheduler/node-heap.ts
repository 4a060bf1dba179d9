/** A binary min-heap of nodes ordered by (tasks of this service, tasks in all, node ID). */
import type { NodeInfo } from './node-info.js';

export class NodeHeap {
  private readonly items: NodeInfo[] = [];
  constructor(private readonly serviceId: string) {}

  get size(): number {
    return this.items.length;
  }

  private less(a: NodeInfo, b: NodeInfo): boolean {
    const sa = a.serviceCount(this.serviceId);
    const sb = b.serviceCount(this.serviceId);
    if (sa !== sb) return sa < sb;
    if (a.total !== b.total) return a.total < b.total;
    return a.node.id < b.node.id;
  }

  push(n: NodeInfo): void {
    const it = this.items;
    it.push(n);
    let i = it.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(it[i]!, it[p]!)) break;
      [it[i], it[p]] = [it[p]!, it[i]!];
      i = p;
    }
  }

  pop(): NodeInfo | undefined {
    const it = this.items;
    if (it.length === 0) return undefined;
    const top = it[0]!;
    const last = it.pop()!;
    if (it.length > 0) {
      it[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < it.length && this.less(it[l]!, it[m]!)) m = l;
        if (r < it.length && this.less(it[r]!, it[m]!)) m = r;
        if (m === i) break;
        [it[i], it[m]] = [it[m]!, it[i]!];
        i = m;
      }
    }
    return top;
  }
}
