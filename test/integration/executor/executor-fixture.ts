/**
 * A real Engine in this process for executor tests: temp data and exec roots, its bridges, NAT rules and
 * published ports inside a lab netns (never the machine's own), the busybox base image, and cleanup that
 * removes every container, mount, cgroup, netns and directory it made.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Engine } from '../../../worker/engine/engine.js';
import { ensureBusybox } from '../../../worker/engine/image/index.js';
import { v1Hierarchies } from '../../../worker/engine/runtime/cgroups.js';
import type { Task, TaskSpec, TaskState, TaskStatus } from '../../../manager/store/index.js';
import { requireContainerHost } from '../container/engine-fixture.js';
import { makeLab, type Lab } from '../network/netns-harness.js';

export interface EngineHost {
  lab: Lab;
  base: string;
  dataRoot: string;
  execRoot: string;
  engine: Engine;
  /** closes and opens the engine again on the same roots (a shoald restart) */
  reopen(): Promise<Engine>;
  cleanup(): Promise<void>;
}

export interface EngineHostOptions {
  /** this host's underlay address (overlay networks) */
  overlayLocalAddr?: string;
  /** a lab shared with other engine hosts (not removed by this host's cleanup) */
  lab?: Lab;
  /** the netns of this host's bridges and rules (default: the lab's host netns) */
  hostNs?: string;
  /** the engine prefix (default: the lab's) */
  prefix?: string;
}

export async function openEngineHost(o: EngineHostOptions = {}): Promise<EngineHost> {
  requireContainerHost();
  const lab = o.lab ?? makeLab();
  const prefix = o.prefix ?? lab.prefix;
  const base = mkdtempSync('/tmp/shoal-ex-');
  const dataRoot = join(base, 'data');
  const execRoot = join(base, 'x');
  const n = randomBytes(2);
  const opts = {
    dataRoot,
    execRoot,
    prefix,
    hostNetns: o.hostNs ?? lab.hostNs,
    dnsUpstreams: [],
    defaultBridgeSubnet: `10.${200 + (n[0]! % 50)}.${n[1]}.0/24`,
    ...(o.overlayLocalAddr ? { overlayLocalAddr: o.overlayLocalAddr } : {}),
  };
  let engine = await Engine.open(opts);
  const h: EngineHost = {
    lab, base, dataRoot, execRoot, engine,
    async reopen() {
      await engine.close();
      engine = await Engine.open(opts);
      h.engine = engine;
      return engine;
    },
    async cleanup() {
      await engine.destroy().catch(() => undefined);
      for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
        const mp = line.split(' ')[4];
        if (mp && mp.startsWith(base)) execFileSync('umount', ['-l', mp]);
      }
      for (const ns of execFileSync('ip', ['netns', 'list']).toString().split('\n')) {
        const name = ns.split(' ')[0];
        if (name && name.startsWith(`${prefix}-`) && name !== lab.hostNs && name !== lab.clientNs) execFileSync('ip', ['netns', 'del', name]);
      }
      for (const hier of await v1Hierarchies()) {
        const p = join(hier, `shoal-${prefix}`);
        if (existsSync(p)) execFileSync('find', [p, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']);
      }
      if (!o.lab) lab.cleanup();
      rmSync(base, { recursive: true, force: true });
    },
  };
  try {
    await ensureBusybox(engine.images);
  } catch (e) {
    await h.cleanup();
    throw e;
  }
  return h;
}

let seq = 0;

/** A task in the store's shape, assigned to `nodeId`. */
export function task(o: { service?: string; serviceId?: string; slot?: number; nodeId?: string; spec: TaskSpec; state?: TaskState; id?: string; serviceLabels?: Record<string, string> }): Task {
  seq++;
  const id = o.id ?? `task${randomBytes(8).toString('hex')}${seq}`.slice(0, 25);
  const status: TaskStatus = { Timestamp: new Date(0).toISOString(), State: o.state ?? 'assigned', Message: 'scheduler assigned task to node' };
  return {
    ID: id,
    Meta: { Version: { Index: 1 }, CreatedAt: new Date(0).toISOString(), UpdatedAt: new Date(0).toISOString() },
    ServiceID: o.serviceId ?? 'svc0000000000000000000001',
    Slot: o.slot ?? 1,
    NodeID: o.nodeId ?? 'node000000000000000000001',
    Spec: o.spec,
    SpecVersion: { Index: 1 },
    DesiredState: 'running',
    Status: status,
    ServiceAnnotations: { Name: o.service ?? 'web', ...(o.serviceLabels ? { Labels: o.serviceLabels } : {}) },
  };
}

export async function until(what: string, cond: () => boolean | Promise<boolean>, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
