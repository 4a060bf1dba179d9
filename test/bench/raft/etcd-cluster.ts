// A 3-member etcd cluster on 127.0.0.1 (the Debian etcd binary; installed with apt-get when
// missing), each member with its own temp data dir; killed and removed at destroy.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './free-port.js';
import { getJson } from './kv-http-client.js';

export function findEtcd(): string {
  for (const p of ['/usr/bin/etcd', '/usr/local/bin/etcd']) if (existsSync(p)) return p;
  execFileSync('apt-get', ['install', '-y', 'etcd-server'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (existsSync('/usr/bin/etcd')) return '/usr/bin/etcd';
  throw new Error('etcd is not installed and apt-get install etcd-server did not provide it');
}

export interface EtcdMember { name: string; clientUrl: string; child: ChildProcess }

export class EtcdCluster {
  readonly members: EtcdMember[] = [];
  readonly root = mkdtempSync(join(tmpdir(), `shoal-etcd-${process.pid}-`));

  async start(size = 3): Promise<void> {
    const bin = findEtcd();
    const ports = await freePorts(size * 2);
    const peer = (i: number): string => `http://127.0.0.1:${ports[i * 2 + 1]!}`;
    const initial = Array.from({ length: size }, (_, i) => `m${i + 1}=${peer(i)}`).join(',');
    for (let i = 0; i < size; i++) {
      const name = `m${i + 1}`;
      const clientUrl = `http://127.0.0.1:${ports[i * 2]!}`;
      const child = spawn(bin, ['--name', name, '--data-dir', join(this.root, name),
        '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
        '--listen-peer-urls', peer(i), '--initial-advertise-peer-urls', peer(i),
        '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', `shoal-bench-${process.pid}`,
        '--log-level', 'error'], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr!.resume();
      this.members.push({ name, clientUrl, child });
    }
    const deadline = Date.now() + 30_000;
    while ((await this.leader()) === undefined) {
      if (Date.now() > deadline) throw new Error('etcd cluster did not elect a leader in 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The leader's client URL, from POST /v3/maintenance/status on each member. */
  async leader(): Promise<string | undefined> {
    for (const m of this.members) {
      const s = await statusOf(m.clientUrl);
      if (s !== undefined && s.leader !== '' && s.leader === s.memberId) return m.clientUrl;
    }
    return undefined;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.members.map((m) => new Promise<void>((r) => {
      if (m.child.exitCode !== null || m.child.signalCode !== null) { r(); return; }
      m.child.once('exit', () => r());
      m.child.kill('SIGKILL');
    })));
    rmSync(this.root, { recursive: true, force: true });
  }
}

async function statusOf(url: string): Promise<{ leader: string; memberId: string } | undefined> {
  try {
    const r = await fetch(`${url}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
    const v: unknown = await r.json();
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as { leader?: unknown; header?: { member_id?: unknown } };
    return { leader: String(o.leader ?? ''), memberId: String(o.header?.member_id ?? '') };
  } catch {
    return undefined;
  }
}

export { getJson };
