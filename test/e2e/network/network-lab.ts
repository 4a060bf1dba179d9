/**
 * Helpers for the network end-to-end tests on the multi-host lab (test/e2e/multihost/multihost-lab.ts):
 * task addresses on a network as the manager allocated them, the host and container of a task, a
 * command inside a task's container through that host's socket (docker exec), and a host binary run
 * inside a task container's network namespace (for tools busybox lacks, such as ping -M do).
 */
import type { LabHost } from '../../../deploy/cluster/hosts.js';
import { HostExec } from '../../../worker/engine/network/exec.js';
import { type MultihostLab, until } from '../multihost/multihost-lab.js';

export interface NetTask {
  ID: string;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string; ContainerStatus?: { ContainerID?: string } };
  NetworksAttachments?: { Network: { ID: string; Spec: { Name: string } }; Addresses: string[] }[];
}

export class NetLab {
  private nodes: Map<string, LabHost> | undefined;

  constructor(readonly lab: MultihostLab) {}

  get manager(): LabHost {
    return this.lab.host(1);
  }

  async tasks(service: string): Promise<NetTask[]> {
    const q = `?filters=${encodeURIComponent(JSON.stringify({ service: { [service]: true } }))}`;
    return this.lab.json<NetTask[]>(this.manager, `/tasks${q}`);
  }

  /** Running tasks of `service` (desired and observed), once there are exactly `n`. */
  running(service: string, n: number, limitMs = 120_000): Promise<NetTask[]> {
    return until(`${n} running tasks of ${service}`, async () => {
      const ts = (await this.tasks(service)).filter((t) => t.DesiredState === 'running');
      return ts.length === n && ts.every((t) => t.Status.State === 'running') ? ts : undefined;
    }, limitMs, 500);
  }

  async hostOf(t: NetTask): Promise<LabHost> {
    this.nodes ??= await this.lab.hostsByNode();
    const h = this.nodes.get(t.NodeID ?? '');
    if (!h) throw new Error(`task ${t.ID} is on no lab host (node ${t.NodeID})`);
    return h;
  }

  /** The task's address on network `name` (no prefix length). */
  static addr(t: NetTask, name: string): string {
    const a = t.NetworksAttachments?.find((x) => x.Network.Spec.Name === name)?.Addresses[0];
    if (!a) throw new Error(`task ${t.ID} has no address on ${name}: ${JSON.stringify(t.NetworksAttachments)}`);
    return a.split('/')[0]!;
  }

  static container(t: NetTask): string {
    const c = t.Status.ContainerStatus?.ContainerID;
    if (!c) throw new Error(`task ${t.ID} has no container`);
    return c;
  }

  /** `sh -c script` inside the task's container (docker exec on its host); its stdout. */
  async exec(t: NetTask, script: string, timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
    const h = await this.hostOf(t);
    return this.lab.docker(h, ['exec', NetLab.container(t), 'sh', '-c', script], { timeoutMs });
  }

  async execOk(t: NetTask, script: string, timeoutMs = 60_000): Promise<string> {
    const r = await this.exec(t, script, timeoutMs);
    if (r.code !== 0) throw new Error(`exec in ${t.ID} of ${JSON.stringify(script)} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** A host program run inside the task container's network namespace (the engine names it <prefix>-<id12>). */
  async inNetns(t: NetTask, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const h = await this.hostOf(t);
    const ns = `/run/netns/${h.prefix}-${NetLab.container(t).slice(0, 12)}`;
    return new HostExec(ns).raw(argv);
  }
}

/** The addresses busybox nslookup printed for the name (the answer part, not the server's). */
export function nslookupAddrs(out: string): string[] {
  const answer = out.split(/\n\s*\n/).slice(1).join('\n');
  return [...answer.matchAll(/Address(?: \d+)?:\s*(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]!).sort();
}

/**
 * `n` requests to `url` from inside the task, one line per answer ("ERR" for a failed one). The
 * deadline is busybox `timeout`: this busybox's `wget -T` segfaults (static glibc, SIGALRM path).
 */
export async function requests(nl: NetLab, t: NetTask, url: string, n: number): Promise<string[]> {
  const out = await nl.execOk(t, `for i in $(seq ${n}); do timeout 5 wget -qO- ${url} 2>/dev/null || echo ERR; done`, 120_000);
  return out.split('\n').map((l) => l.trim()).filter(Boolean);
}
