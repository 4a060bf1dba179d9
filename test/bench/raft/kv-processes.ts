// Starts shoal KV members as separate processes (dist/manager/raft/kv/kv-member.js) on 127.0.0.1,
// each with its own data dir, and kills them (SIGKILL) on demand or at cleanup.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './free-port.js';

export interface KvProcess { id: number; raftPort: number; httpPort: number; dataDir: string; child: ChildProcess | undefined; url: string }

function memberScript(): string {
  // dist/test/bench/raft → dist/manager/raft/kv/kv-member.js
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'manager', 'raft', 'kv', 'kv-member.js');
}

export class KvProcessCluster {
  readonly members: KvProcess[] = [];
  readonly root: string;
  private logs = new Map<number, string>();

  constructor(readonly size: number, readonly extraArgs: string[] = [], label = 'kv', readonly nodeArgs: string[] = []) {
    this.root = mkdtempSync(join(tmpdir(), `shoal-${label}-${process.pid}-`));
  }

  async start(): Promise<void> {
    const ports = await freePorts(this.size * 2);
    for (let i = 0; i < this.size; i++) {
      const id = i + 1;
      this.members.push({ id, raftPort: ports[i * 2]!, httpPort: ports[i * 2 + 1]!, dataDir: join(this.root, `m${id}`), child: undefined, url: `http://127.0.0.1:${ports[i * 2 + 1]!}` });
    }
    await Promise.all(this.members.map((m) => this.launch(m.id)));
  }

  /** (Re)starts member `id` with its data dir; resolves once it prints its ready line. */
  launch(id: number): Promise<void> {
    const m = this.members[id - 1]!;
    const peers = this.members.map((p) => `${p.id}=127.0.0.1:${p.raftPort}`).join(',');
    const peersHttp = this.members.map((p) => `${p.id}=127.0.0.1:${p.httpPort}`).join(',');
    const child = spawn(process.execPath, [...this.nodeArgs, memberScript(), '--id', String(id), '--data', m.dataDir,
      '--raft', `127.0.0.1:${m.raftPort}`, '--http', `127.0.0.1:${m.httpPort}`, '--peers', peers, '--peers-http', peersHttp, ...this.extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    m.child = child;
    child.stderr!.on('data', (b: Buffer) => { this.logs.set(id, ((this.logs.get(id) ?? '') + b.toString()).slice(-4000)); });
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`member ${id} not ready in 20 s: ${this.logs.get(id) ?? ''}`)), 20_000);
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('"ready":true')) { clearTimeout(timer); resolve(); }
      });
      child.once('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`member ${id} exited (${code ?? sig}) before ready: ${this.logs.get(id) ?? ''}`)); });
    });
  }

  kill(id: number): void {
    const m = this.members[id - 1]!;
    if (m.child !== undefined && m.child.exitCode === null && m.child.signalCode === null) m.child.kill('SIGKILL');
    m.child = undefined;
  }

  stderr(id: number): string { return this.logs.get(id) ?? ''; }

  async destroy(): Promise<void> {
    const exits: Promise<void>[] = [];
    for (const m of this.members) {
      const c = m.child;
      if (c !== undefined && c.exitCode === null && c.signalCode === null) {
        exits.push(new Promise((r) => c.once('exit', () => r())));
        c.kill('SIGKILL');
      }
      m.child = undefined;
    }
    await Promise.all(exits);
    rmSync(this.root, { recursive: true, force: true });
  }
}
