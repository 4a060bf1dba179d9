// A cluster of RaftNodes over the in-memory network, each with a real DiskStorage in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskStorage } from '../../../manager/raft/disk-storage.js';
import { loadCore, type CoreModule } from '../../../manager/raft/load-core.js';
import { RaftNode, type RaftNodeOptions } from '../../../manager/raft/raft-node.js';
import { KvStateMachine, encodeKvCommand } from '../../../manager/raft/kv/kv-state-machine.js';
import type { NodeId } from '../../../manager/raft/core/types.js';
import { MemoryNetwork } from './memory-network.js';

export interface Member { id: NodeId; node: RaftNode; sm: KvStateMachine; storage: DiskStorage; dir: string }

export class TestCluster {
  readonly net = new MemoryNetwork();
  readonly members = new Map<NodeId, Member>();
  readonly root = mkdtempSync(join(tmpdir(), `shoal-raft-driver-${process.pid}-`));
  private core: CoreModule | undefined;

  constructor(readonly ids: NodeId[], readonly extra: Partial<RaftNodeOptions> = {}, readonly fsync = false) {}

  async startAll(): Promise<void> {
    for (const id of this.ids) await this.start(id);
  }

  async start(id: NodeId, extra: Partial<RaftNodeOptions> = {}): Promise<Member> {
    this.core ??= await loadCore();
    const dir = join(this.root, `n${id}`);
    const storage = await DiskStorage.open(dir, { fsync: this.fsync, segmentBytes: 4 << 20 });
    const sm = new KvStateMachine();
    const node = await RaftNode.start({
      id, storage, transport: this.net.transport(id), stateMachine: sm, core: this.core,
      initialMembers: new Map(this.ids.map((i) => [i, `mem-${i}`])),
      tickMs: 10, requestTimeoutMs: 5000,
      ...this.extra, ...extra,
    });
    const m = { id, node, sm, storage, dir };
    this.members.set(id, m);
    return m;
  }

  async stop(id: NodeId): Promise<void> {
    const m = this.members.get(id);
    if (m === undefined) return;
    this.members.delete(id);
    await m.node.stop();
  }

  async waitLeader(exclude: NodeId[] = [], ms = 10_000): Promise<Member> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (const m of this.members.values()) {
        if (exclude.includes(m.id) || !m.node.isLeader) continue;
        // Agreed by every other live member that is not excluded.
        if ([...this.members.values()].every((o) => exclude.includes(o.id) || o.node.leaderId === m.id)) return m;
      }
      if (Date.now() > deadline) throw new Error('no leader elected in time');
      await sleep(10);
    }
  }

  async destroy(): Promise<void> {
    for (const id of [...this.members.keys()]) await this.stop(id);
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function put(key: string, value: string): Uint8Array {
  return encodeKvCommand({ op: 'put', key: Buffer.from(key), value: Buffer.from(value) });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
