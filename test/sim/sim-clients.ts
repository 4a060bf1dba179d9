// Simulated clients: each issues one operation at a time (put, cas, delete through a proposal, get
// through ReadIndex) against a leader when it knows one, records it on the virtual clock, and gives
// up after a timeout. A write whose outcome the client never learns (timeout, crash of the node it
// talked to) is recorded as unknown; a get that never completes is left out (it says nothing).

import type { KvInput, KvOperation, KvOutput } from '../lin/kv-model.js';
import { encodeCommand } from './kv-app.js';
import type { SimNode } from './sim-node.js';
import { currentLeader, liveNodes, pick, type World } from './sim-world.js';

export interface ClientOptions {
  clients: number;
  keys: number;
  timeout: number;
}

export class SimClients {
  readonly history: KvOperation[] = [];
  private seq = new Map<number, number>();

  constructor(private readonly w: World, private readonly o: ClientOptions) {}

  start(): void {
    for (let c = 1; c <= this.o.clients; c++) this.think(c);
  }

  private think(c: number): void {
    this.w.q.after(5 + this.w.rnd(40), `client ${c} thinks`, () => {
      if (this.w.chaos) this.issue(c, this.randomInput(c));
    });
  }

  private nextSeq(c: number): number {
    const s = (this.seq.get(c) ?? 0) + 1;
    this.seq.set(c, s);
    return s;
  }

  private randomInput(c: number): KvInput {
    const r = this.w.rnd;
    const key = `k${r(this.o.keys)}`;
    const value = `c${c}.${this.seq.get(c) ?? 0}.${r(1000)}`;
    const k = r(100);
    if (k < 40) return { op: 'get', key };
    if (k < 75) return { op: 'put', key, value };
    if (k < 80) return { op: 'delete', key };
    const expect = this.lastValues.get(key) ?? null;
    return { op: 'cas', key, expect, value };
  }

  private lastValues = new Map<string, string | null>();

  /** A node to talk to: usually the leader, sometimes any live member. */
  target(): SimNode | undefined {
    const lead = currentLeader(this.w);
    if (lead && this.w.rnd(10) < 8) return lead;
    return pick(this.w.rnd, liveNodes(this.w));
  }

  /** Issues one operation; `then` runs when the client is free again (default: think and go on). */
  issue(c: number, input: KvInput, then: (out: KvOutput | undefined) => void = () => this.think(c), to?: SimNode): void {
    const node = to ?? this.target();
    if (!node || !node.raw) { then(undefined); return; }
    const seq = this.nextSeq(c);
    const call = this.w.q.now;
    let finished = false;
    const finish = (out: KvOutput | undefined): void => { finished = true; then(out); };
    if (input.op === 'get') {
      const ctx = `r${c}:${seq}`;
      if (this.w.breakage === 'local-reads') {
        const value = node.app.get(input.key);
        this.history.push({ clientId: c, input, output: { type: 'value', value }, call, ret: call });
        this.w.q.after(1, `client ${c} read locally`, () => finish({ type: 'value', value }));
        return;
      }
      node.addRead(ctx, {
        key: input.key,
        index: null,
        complete: (value) => {
          if (finished) return;
          this.history.push({ clientId: c, input, output: { type: 'value', value }, call, ret: this.w.q.now });
          this.lastValues.set(input.key, value);
          this.w.stats.readsOk++;
          this.w.trace?.(`  client ${c} get(${input.key}) -> ${value} on n${node.id}`);
          finish({ type: 'value', value });
        },
        abandon: () => { if (!finished) finish(undefined); },
      });
      node.readIndex(ctx);
      this.w.touch(node);
      this.w.q.after(this.o.timeout, `client ${c} get times out`, () => {
        if (finished) return;
        node.dropRead(ctx);
        finish(undefined);
      });
      return;
    }
    const key = `${c}:${seq}`;
    const unknown = (): void => {
      if (finished) return;
      this.history.push({ clientId: c, input, output: undefined, call, ret: Infinity, unknown: true });
      this.w.stats.writesUnknown++;
      finish(undefined);
    };
    node.addWrite(key, {
      complete: (out) => {
        if (finished) return;
        this.history.push({ clientId: c, input, output: out, call, ret: this.w.q.now });
        this.w.stats.writesOk++;
        if (input.op !== 'cas' || (out.type === 'cas' && out.ok)) this.lastValues.set(input.key, input.op === 'delete' ? null : input.value);
        this.w.trace?.(`  client ${c} ${input.op}(${input.key}) ok on n${node.id}`);
        finish(out);
      },
      abandon: unknown,
    });
    const res = node.raw.propose(encodeCommand({ client: c, seq, input }));
    this.w.touch(node);
    if (!res.ok) {
      // Refused before it entered any log: it never takes effect, so it is not part of the history.
      node.dropWrite(key);
      finished = true;
      this.w.q.after(1, `client ${c} retries after a refusal`, () => then(undefined));
      return;
    }
    this.w.q.after(this.o.timeout, `client ${c} write times out`, () => {
      node.dropWrite(key);
      unknown();
    });
  }

  /** The final progress probe: a put that must commit once the cluster is healed. */
  probe(c: number, deadline: number, done: (ok: boolean) => void): void {
    const attempt = (): void => {
      if (this.w.q.now > deadline) { done(false); return; }
      const lead = currentLeader(this.w);
      const value = `probe.${this.w.q.now}`;
      this.issue(c, { op: 'put', key: 'k0', value }, (out) => {
        if (out !== undefined) done(true);
        else this.w.q.after(20, 'probe retries', attempt);
      }, lead);
    };
    attempt();
  }
}
