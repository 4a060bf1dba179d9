/**
 * The lab's hosts as one swarm: every host's shoald runs with its lab address as the swarm listen and
 * advertise address; host 1 inits the swarm, hosts 2…M join as managers, the rest as workers. Idempotent:
 * a host already in this swarm is kept, a host in no swarm joins, a host in another swarm (an earlier lab
 * whose host 1 was re-made) leaves it first. Everything goes through each host's REST API (the same
 * calls the docker CLI makes), every call with a deadline.
 */
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, apiOk } from './api-client.js';
import { startEngine, type EngineStartOptions } from './engines.js';
import type { Lab, LabHost } from './hosts.js';

export const SWARM_PORT = 2377;

export interface HostSwarmInfo {
  state: string;
  nodeId: string;
  clusterId: string;
  isManager: boolean;
}

export async function swarmInfo(h: LabHost): Promise<HostSwarmInfo> {
  const info = JSON.parse(await apiOk(h.socket, 'GET', '/info', undefined, { timeoutMs: 10_000 })) as {
    Swarm?: { LocalNodeState?: string; NodeID?: string; ControlAvailable?: boolean; Cluster?: { ID?: string } };
  };
  return {
    state: info.Swarm?.LocalNodeState ?? 'inactive',
    nodeId: info.Swarm?.NodeID ?? '',
    clusterId: info.Swarm?.Cluster?.ID ?? '',
    isManager: info.Swarm?.ControlAvailable ?? false,
  };
}

/** The shoald flags that make a lab host a swarm node at its lab address. */
export function swarmDaemonArgs(h: LabHost): string[] {
  return ['--listen-addr', `${h.addr}:${SWARM_PORT}`, '--advertise-addr', h.addr, '--hostname', h.name];
}

/** Starts (or finds running) the host's shoald as a swarm-ready daemon. */
export function startSwarmHost(h: LabHost, o: EngineStartOptions = {}): Promise<number> {
  return startEngine(h, { ...o, extraArgs: [...swarmDaemonArgs(h), ...(o.extraArgs ?? [])] });
}

interface JoinTokens {
  Worker: string;
  Manager: string;
}

async function clusterOf(h: LabHost): Promise<{ id: string; tokens: JoinTokens }> {
  const s = JSON.parse(await apiOk(h.socket, 'GET', '/swarm', undefined, { timeoutMs: 10_000 })) as { ID: string; JoinTokens: JoinTokens };
  return { id: s.ID, tokens: s.JoinTokens };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface FormResult {
  clusterId: string;
  /** what each host did: "init", "joined as manager", "joined as worker", "already in the swarm" */
  actions: Map<string, string>;
}

/**
 * Host 1 inits (unless it is in a swarm already), hosts 2…managers join as managers, the rest as
 * workers. Each join waits for the previous one (a manager join changes the Raft membership).
 */
export async function formSwarm(lab: Lab, managers: number): Promise<FormResult> {
  if (managers < 1 || managers > lab.hosts.length) throw new Error(`managers: must be 1..${lab.hosts.length}, got ${managers}`);
  const actions = new Map<string, string>();
  const first = lab.hosts[0]!;
  const fi = await swarmInfo(first);
  if (fi.state !== 'active' || !fi.isManager) {
    if (fi.state !== 'inactive') await apiOk(first.socket, 'POST', '/swarm/leave?force=1', undefined, { timeoutMs: 30_000 });
    await apiOk(first.socket, 'POST', '/swarm/init', { ListenAddr: `${first.addr}:${SWARM_PORT}`, AdvertiseAddr: first.addr }, { timeoutMs: 60_000 });
    actions.set(first.name, 'init');
  } else actions.set(first.name, 'already in the swarm');
  const { id: clusterId, tokens } = await clusterOf(first);
  for (const h of lab.hosts.slice(1)) {
    const asManager = h.index <= managers;
    const si = await swarmInfo(h);
    if (si.state === 'active' && si.clusterId === clusterId) {
      actions.set(h.name, 'already in the swarm');
      continue;
    }
    if (si.state === 'active' && !si.isManager && (await nodeOfCluster(first, si.nodeId))) {
      actions.set(h.name, 'already in the swarm');
      continue;
    }
    if (si.state !== 'inactive') await apiOk(h.socket, 'POST', '/swarm/leave?force=1', undefined, { timeoutMs: 30_000 });
    await joinWithRetry(h, first, asManager ? tokens.Manager : tokens.Worker);
    actions.set(h.name, `joined as ${asManager ? 'manager' : 'worker'}`);
  }
  return { clusterId, actions };
}

/** True when the cluster `leader` belongs to has a node with this ID (a worker cannot tell its cluster ID itself). */
async function nodeOfCluster(manager: LabHost, nodeId: string): Promise<boolean> {
  if (!nodeId) return false;
  const r = await api(manager.socket, 'GET', `/nodes/${nodeId}`, undefined, { timeoutMs: 10_000 });
  return r.status === 200;
}

async function joinWithRetry(h: LabHost, first: LabHost, token: string): Promise<void> {
  let last: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await apiOk(h.socket, 'POST', '/swarm/join', { ListenAddr: `${h.addr}:${SWARM_PORT}`, AdvertiseAddr: h.addr, RemoteAddrs: [`${first.addr}:${SWARM_PORT}`], JoinToken: token }, { timeoutMs: 120_000 });
      return;
    } catch (e) {
      last = e;
      await sleep(1000);
    }
  }
  throw new Error(`${h.name} could not join the swarm: ${(last as Error).message}`);
}

/** Waits until the manager sees `count` nodes Ready. */
export async function waitNodesReady(manager: LabHost, count: number, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  let seen = 0;
  while (Date.now() < end) {
    const r = await api(manager.socket, 'GET', '/nodes', undefined, { timeoutMs: 10_000 }).catch(() => undefined);
    if (r?.status === 200) {
      seen = (JSON.parse(r.body) as { Status?: { State?: string } }[]).filter((n) => n.Status?.State === 'ready').length;
      if (seen >= count) return;
    }
    await sleep(200);
  }
  throw new Error(`only ${seen} of ${count} nodes became ready within ${limitMs} ms`);
}

// ---- the busybox base image on every host -------------------------------------------------------

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Builds busybox:latest (deploy/base-image) once, as an OCI-layout tar, on first `get`. */
export function busyboxTar(): { get: () => string; cleanup: () => void } {
  let dir: string | undefined;
  return {
    get() {
      if (dir) return join(dir, 'busybox.tar');
      dir = mkdtempSync(join(tmpdir(), 'shoal-busybox-'));
      const script = join(repoRoot, 'deploy', 'base-image', 'build-busybox.sh');
      const b = spawnSync('bash', [script, join(dir, 'layout')], { encoding: 'utf8' });
      if (b.status !== 0) throw new Error(`${script} failed: ${b.stderr}`);
      const t = spawnSync('tar', ['-C', join(dir, 'layout'), '-cf', join(dir, 'busybox.tar'), '.'], { encoding: 'utf8' });
      if (t.status !== 0) throw new Error(`tar failed: ${t.stderr}`);
      return join(dir, 'busybox.tar');
    },
    cleanup() {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    },
  };
}

/** Loads busybox:latest into the host's engine unless it has it. Answers whether it loaded it. */
export async function ensureBusybox(h: LabHost, tar: () => string): Promise<boolean> {
  const r = await api(h.socket, 'GET', '/images/busybox:latest/json', undefined, { timeoutMs: 10_000 });
  if (r.status === 200) return false;
  await apiOk(h.socket, 'POST', '/images/load?quiet=1', undefined, { stream: createReadStream(tar()), timeoutMs: 120_000 });
  return true;
}
