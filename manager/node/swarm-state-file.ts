/**
 * What a node remembers of its swarm between restarts, in <data-root>/swarm/state.json (written to a
 * temporary file, fsynced, renamed, directory fsynced): its node and cluster IDs, the role its
 * certificate carries, its Raft ID while a manager, its addresses and the managers it knows. The
 * certificates are beside it (manager/ca KeyStore), the Raft log under raft/, the agent's tasks under
 * worker/.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeRole } from '../ca/index.js';
import { isRecord } from './grpc-json.js';

export interface KnownManager {
  nodeId?: string;
  addr: string;
}

export interface SwarmState {
  version: 1;
  nodeId: string;
  clusterId: string;
  role: NodeRole;
  /** the Raft member ID while this node is a manager */
  raftId?: number;
  /** host:port the manager role listens on */
  listenAddr: string;
  /** host:port other nodes dial (managers); its host is the node's address */
  advertiseAddr: string;
  managers: KnownManager[];
}

export const STATE_FILE = 'state.json';

export class SwarmStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SwarmStateError';
  }
}

export function parseSwarmState(text: string, where: string): SwarmState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new SwarmStateError(`${where}: not JSON (${(e as Error).message})`);
  }
  if (!isRecord(v) || v.version !== 1) throw new SwarmStateError(`${where}: unknown format`);
  const s = (k: string): string => {
    if (typeof v[k] !== 'string' || v[k] === '') throw new SwarmStateError(`${where}: ${k} missing`);
    return v[k];
  };
  const role = s('role');
  if (role !== 'manager' && role !== 'worker') throw new SwarmStateError(`${where}: role '${role}' is not manager or worker`);
  const raftId = v.raftId;
  if (raftId !== undefined && (!Number.isSafeInteger(raftId) || (raftId as number) <= 0)) throw new SwarmStateError(`${where}: bad raftId`);
  const managers = Array.isArray(v.managers)
    ? v.managers.filter((m): m is KnownManager => isRecord(m) && typeof m.addr === 'string' && m.addr !== '')
    : [];
  return {
    version: 1,
    nodeId: s('nodeId'),
    clusterId: s('clusterId'),
    role,
    ...(raftId !== undefined ? { raftId: raftId as number } : {}),
    listenAddr: s('listenAddr'),
    advertiseAddr: s('advertiseAddr'),
    managers: managers.map((m) => ({ addr: m.addr, ...(typeof m.nodeId === 'string' ? { nodeId: m.nodeId } : {}) })),
  };
}

/** The saved state, or undefined when this node is in no swarm. */
export async function loadSwarmState(dir: string): Promise<SwarmState | undefined> {
  const path = join(dir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return parseSwarmState(text, path);
}

export async function saveSwarmState(dir: string, s: SwarmState): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, STATE_FILE);
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(s, null, 2));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Forgets the swarm: state, certificates, Raft log and the agent's tasks. */
export async function removeSwarmState(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
