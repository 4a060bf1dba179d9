/** Reading and writing the manager's state file (`<stateDir>/networks.json`): atomic replace, checked on read. */
import { mkdir, readFile, rename, rm, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerNetState, EndpointState, NetworkState, PersistedNetworkState } from './types.js';
import type { PublishedPort } from './port-allocator.js';

export class StateFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateFileError';
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrArr = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);
const isStrMap = (v: unknown): v is Record<string, string> => isObj(v) && Object.values(v).every(isStr);
const optStr = (v: unknown): boolean => v === undefined || isStr(v);

function checkNetwork(v: unknown): NetworkState {
  if (!isObj(v) || !isStr(v.id) || !isStr(v.name) || !isStr(v.created) || !isStrMap(v.options) || !isStrMap(v.labels)
    || !(v.driver === 'bridge' || v.driver === 'host' || v.driver === 'null' || v.driver === 'overlay') || typeof v.builtin !== 'boolean'
    || typeof v.internal !== 'boolean' || typeof v.attachable !== 'boolean' || typeof v.masquerade !== 'boolean'
    || !optStr(v.bridge) || !optStr(v.subnet) || !optStr(v.gateway) || !optStr(v.ipRange)
    || !(v.mtu === undefined || typeof v.mtu === 'number') || !(v.cursor === undefined || typeof v.cursor === 'number'))
    throw new StateFileError(`bad network entry: ${JSON.stringify(v)}`);
  return v as unknown as NetworkState;
}

function checkEndpoint(v: unknown): EndpointState {
  if (!isObj(v) || !isStr(v.id) || !isStr(v.networkId) || !isStr(v.ifname) || !isStr(v.hostVeth) || !isStr(v.ip) || !isStr(v.mac) || !isStrArr(v.aliases))
    throw new StateFileError(`bad endpoint entry: ${JSON.stringify(v)}`);
  return v as unknown as EndpointState;
}

function checkPort(v: unknown): PublishedPort {
  if (!isObj(v) || typeof v.containerPort !== 'number' || typeof v.hostPort !== 'number' || !isStr(v.hostIp)
    || !(v.proto === 'tcp' || v.proto === 'udp' || v.proto === 'sctp'))
    throw new StateFileError(`bad port entry: ${JSON.stringify(v)}`);
  return v as unknown as PublishedPort;
}

function checkContainer(v: unknown): ContainerNetState {
  if (!isObj(v) || !isStr(v.containerId) || !isStr(v.name) || !isStr(v.hostname) || !optStr(v.netns)
    || !(v.mode === 'host' || v.mode === 'none' || v.mode === 'netns') || !Array.isArray(v.endpoints) || !Array.isArray(v.ports))
    throw new StateFileError(`bad container entry: ${JSON.stringify(v)}`);
  v.endpoints.forEach(checkEndpoint);
  v.ports.forEach(checkPort);
  return v as unknown as ContainerNetState;
}

export function parseState(text: string): PersistedNetworkState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new StateFileError(`network state is not JSON: ${(e as Error).message}`);
  }
  if (!isObj(v) || v.version !== 1 || !Array.isArray(v.networks) || !Array.isArray(v.containers))
    throw new StateFileError('network state has an unknown layout (expected version 1)');
  return { version: 1, networks: v.networks.map(checkNetwork), containers: v.containers.map(checkContainer) };
}

export class StateFile {
  readonly path: string;
  private readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
    this.path = join(dir, 'networks.json');
  }

  async load(): Promise<PersistedNetworkState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    return parseState(text);
  }

  /** Writes a temp file, fsyncs it (when durable) and renames it over the state file. */
  async save(state: PersistedNetworkState, durable = true): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.path}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify(state, null, 1));
    if (durable) {
      const fh = await open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    await rename(tmp, this.path);
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
