/**
 * A node's swarm life, what `shoald` runs besides its engine (SwarmKit's node/node.go): in no swarm,
 * `init` or `join`; then always the worker role (the agent) and, while its certificate says manager,
 * the manager role. Every node polls its role: a promotion or demotion renews its certificate and
 * starts or stops the manager role at run time. `leave` forgets the swarm; a restart resumes from
 * <data-root>/swarm. Operations that change the role are serialised.
 *
 * Autolock: a manager of an autolocked swarm keeps its TLS key on disk encrypted under the unlock key.
 * Restarted, it cannot read the key, so it stays `locked` — no manager role, no agent, control requests
 * refused with Docker's message — until `unlock` is given the right key.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import {
  bootstrapClusterSecurity, CertificateSource, channelOptions, createKeyAndCSR, KeyStore, parseIdentity, renewAt, type NodeRole,
} from '../ca/index.js';
import { renderClusterInfo } from '../controlapi/render-swarm.js';
import { initSwarmSpec } from '../controlapi/swarm-spec.js';
import { generateUnlockKey, INVALID_KEY_STRING, KeyLockedError, parseUnlockKey } from '../ca/kek.js';
import type { ControlTarget } from '../controlapi/control-gateway.js';
import { generateId, isStoreError, type Cluster, type Node, type NodeAvailability, type NodeDescription, type ReplicatedStore } from '../store/index.js';
import type { Executor } from '../../worker/executor/index.js';
import { Agent } from '../../worker/agent/index.js';
import type { SwarmInfo } from '../../worker/engine/api/ports.js';
import { AddressError, advertiseAddress, DEFAULT_LISTEN_ADDR, formatHostPort, hostOf, parseHostPort, resolveInterface } from './addresses.js';
import { forceNewCluster } from './force-new-cluster.js';
import { grpcCode, grpcMessage } from './grpc-json.js';
import { joinCluster, JoinError, nodeStatus, renewCertificate } from './join-client.js';
import type { Logger } from './leader-loop.js';
import { Manager, type ManagerMode, type ManagerTiming } from './manager.js';
import { rotatingChannelCredentials } from './rotating-channel.js';
import { type KnownManager, loadSwarmState, removeSwarmState, saveSwarmState, type SwarmState } from './swarm-state-file.js';

export const NOT_IN_SWARM = 'This node is not part of a swarm';
export const ALREADY_IN_SWARM = 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';
export const NOT_A_MANAGER_INACTIVE =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
export const NOT_A_MANAGER_WORKER =
  "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";
/** moby's errSwarmLocked (503) */
export const SWARM_LOCKED = 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.';
/** moby's invalidUnlockKey (401) */
export const INVALID_UNLOCK_KEY = 'swarm could not be unlocked: invalid key provided';
export const NOT_LOCKED = 'swarm is not locked';
export const LEAVE_LOCKED = 'Swarm is encrypted and locked. Please unlock it first or use `--force` to ignore this message.';

/** A refusal of a swarm operation, with Docker's status code. */
export class SwarmError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 409 | 500 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'SwarmError';
  }
}

export interface SwarmNodeOptions {
  /** <data-root>/swarm */
  dir: string;
  /** the daemon's --listen-addr / --advertise-addr (used when a request leaves them to the default) */
  listenAddr?: string;
  advertiseAddr?: string;
  executor: Executor;
  /** the node's description for the cluster (hostname, platform, resources, engine) */
  describe: () => Promise<NodeDescription>;
  log: Logger;
  timing?: Partial<ManagerTiming>;
  /** how often a node asks for its role (default 3 s) */
  rolePollMs?: number;
  controlPlugins?: (store: ReplicatedStore) => FastifyPluginAsync[];
  registry?: Registry;
}

export interface InitRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  ForceNewCluster?: boolean;
  Spec?: unknown;
  Availability?: string;
  DefaultAddrPool?: string[];
  SubnetSize?: number;
  DataPathPort?: number;
  AutoLockManagers?: boolean;
}

export interface JoinRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  RemoteAddrs?: string[];
  JoinToken?: string;
  Availability?: string;
}

type LocalState = 'inactive' | 'pending' | 'active' | 'error' | 'locked';

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function availabilityOf(v: unknown): NodeAvailability {
  if (v === undefined || v === null || v === '') return 'active';
  if (v === 'active' || v === 'pause' || v === 'drain') return v;
  throw new SwarmError(400, `Availability: invalid availability ${JSON.stringify(v)} (want "active", "pause" or "drain")`);
}

/** Each network interface's first IPv4 address, by name. */
function interfaceAddresses(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, list] of Object.entries(networkInterfaces())) {
    const v4 = (list ?? []).find((a) => a.family === 'IPv4');
    if (v4) out.set(name, v4.address);
  }
  return out;
}

/** An address of this machine for advertising when the listen address is 0.0.0.0. */
function localAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

const randomRaftId = (): number => randomInt(1, 0x7fffffff);

export class SwarmNode {
  private state: LocalState = 'inactive';
  private error = '';
  private swarm: SwarmState | undefined;
  private certs: CertificateSource | undefined;
  private manager: Manager | undefined;
  private agent: Agent | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private renewDue: number | undefined;
  private readonly pollClients = new Map<string, grpc.Client>();
  private pollCreds: grpc.ChannelCredentials | undefined;
  private pollCerts: CertificateSource | undefined;
  private lastPolled: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly keys: KeyStore;
  private stopped = false;

  constructor(private readonly o: SwarmNodeOptions) {
    this.keys = new KeyStore(o.dir);
  }

  /** Serialises role-changing operations. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  get nodeId(): string | undefined {
    return this.swarm?.nodeId;
  }

  get managerRole(): Manager | undefined {
    return this.manager;
  }

  /**
   * This node's place in the swarm while it is in one — IDs, advertise address, the managers it knows
   * and its current TLS identity — for services that run beside the swarm (peer image distribution).
   */
  identity(): { nodeId: string; clusterId: string; advertiseAddr: string; managers: string[]; tls: { certPem: string; keyPem: string; rootPem: string } } | undefined {
    const s = this.swarm;
    const c = this.certs;
    if (!s || !c) return undefined;
    const cur = c.current();
    return {
      nodeId: s.nodeId, clusterId: s.clusterId, advertiseAddr: s.advertiseAddr, managers: s.managers.map((m) => m.addr),
      tls: { certPem: cur.identity.certPem, keyPem: cur.identity.keyPem, rootPem: cur.rootPem },
    };
  }

  /** The manager role's metrics registry while this node is a manager. */
  metrics(): Registry | undefined {
    return this.manager?.metrics;
  }

  get localState(): LocalState {
    return this.state;
  }

  /**
   * Resumes the swarm role saved in the data root, if any. A key file encrypted by autolock leaves the
   * node `locked` (nothing started) until `unlock`.
   */
  start(): Promise<void> {
    return this.exclusive(async () => {
      const s = await loadSwarmState(this.o.dir);
      if (!s) return;
      let id;
      try {
        id = await this.keys.read();
      } catch (e) {
        if (!(e instanceof KeyLockedError)) throw e;
        this.swarm = s;
        this.state = 'locked';
        this.o.log.warn({ nodeId: s.nodeId }, 'the swarm is locked: its node key is encrypted; waiting for "swarm unlock"');
        return;
      }
      if (!id) throw new SwarmError(500, `${this.o.dir}: swarm state without certificates`);
      await this.resume(s, id);
    });
  }

  /** Starts the saved roles with the node's identity (at start, or after an unlock). */
  private async resume(s: SwarmState, id: { rootPem: string; certPem: string; keyPem: string }): Promise<void> {
    this.swarm = s;
    this.certs = new CertificateSource({ certPem: id.certPem, keyPem: id.keyPem }, id.rootPem);
    this.state = 'pending';
    const certRole = parseIdentity(id.certPem).role;
    if (certRole !== s.role) this.swarm = { ...s, role: certRole };
    try {
      if (this.swarm.role === 'manager') await this.startManager({ kind: 'restart', remotes: s.managers.map((m) => m.addr) });
      await this.startAgent();
      this.state = 'active';
    } catch (e) {
      this.state = 'error';
      this.error = (e as Error).message;
      this.o.log.error({ err: this.error }, 'could not resume the swarm role');
    }
    this.armPoll();
  }

  // ---- unlock -----------------------------------------------------------------------------------

  /**
   * `swarm unlock`: opens the locked node key with the unlock key (SWMKEY-1-…) and starts the roles.
   * As moby: a node that is not locked answers 409 (an active manager) or 503; a malformed key 400
   * "invalid key string"; a key that does not open the node key 401, and the node stays locked.
   */
  unlock(raw: unknown): Promise<void> {
    return this.exclusive(async () => {
      if (this.state !== 'locked' || !this.swarm) {
        if (!this.swarm) throw new SwarmError(503, NOT_A_MANAGER_INACTIVE);
        if (this.manager) throw new SwarmError(409, NOT_LOCKED);
        throw new SwarmError(503, this.state === 'error' && this.error ? this.error : NOT_A_MANAGER_WORKER);
      }
      const text = isObj(raw) && typeof raw.UnlockKey === 'string' ? raw.UnlockKey : '';
      let kek: Buffer;
      try {
        kek = parseUnlockKey(text);
      } catch {
        throw new SwarmError(400, INVALID_KEY_STRING);
      }
      let id;
      try {
        id = await this.keys.unlock(kek);
      } catch (e) {
        if (e instanceof KeyLockedError) {
          this.o.log.warn({}, 'swarm unlock refused: the key does not open the node key');
          throw new SwarmError(401, INVALID_UNLOCK_KEY);
        }
        throw e;
      }
      this.o.log.info({ nodeId: this.swarm.nodeId }, 'swarm unlocked');
      await this.resume(this.swarm, id);
    });
  }

  // ---- init -------------------------------------------------------------------------------------

  init(raw: unknown): Promise<string> {
    return this.exclusive(async () => {
      if (raw !== undefined && !isObj(raw)) throw new SwarmError(400, 'the body must be a JSON object (SwarmInitRequest)');
      const req = (raw ?? {}) as InitRequest;
      if (req.ForceNewCluster === true && this.state === 'locked') throw new SwarmError(503, SWARM_LOCKED);
      if (req.ForceNewCluster === true && this.swarm) return this.forceNewClusterLocked(req);
      if (this.state !== 'inactive' || this.swarm) throw new SwarmError(503, ALREADY_IN_SWARM);
      if (req.AutoLockManagers !== undefined && typeof req.AutoLockManagers !== 'boolean') throw new SwarmError(400, `AutoLockManagers: ${JSON.stringify(req.AutoLockManagers)} is not a boolean`);
      const availability = availabilityOf(req.Availability);
      const { listen, advertise } = this.addresses(req.ListenAddr, req.AdvertiseAddr);
      const spec = initSwarmSpec(req.Spec);
      // `--autolock` is the request's AutoLockManagers (the docker CLI also leaves it false in the spec)
      if (req.AutoLockManagers === true) spec.EncryptionConfig = { AutoLockManagers: true };
      if (req.DataPathPort !== undefined && req.DataPathPort !== 0 && (!Number.isInteger(req.DataPathPort) || req.DataPathPort < 1024 || req.DataPathPort > 49151)) {
        throw new SwarmError(400, `DataPathPort: ${req.DataPathPort} is not in 1024-49151`);
      }
      await removeSwarmState(this.o.dir);
      const rnd = (n: number): Uint8Array => randomBytes(n);
      const unlockKey = spec.EncryptionConfig.AutoLockManagers ? generateUnlockKey(rnd) : undefined;
      // an autolocked swarm's first manager writes its key encrypted from the start
      this.keys.setKek(unlockKey);
      const clusterId = generateId(rnd);
      const nodeId = generateId(rnd);
      const raftId = randomRaftId();
      const now = new Date();
      const sec = await bootstrapClusterSecurity({ clusterId, now, randomBytes: rnd });
      const { keyPem, csrPem } = await createKeyAndCSR();
      const certPem = await sec.ca.signCSR(csrPem, { nodeId, role: 'manager', clusterId, now, validityDays: spec.CAConfig.NodeCertExpiry / 1e9 / 86400 });
      await this.keys.write({ rootPem: sec.ca.certPem, certPem, keyPem });
      this.certs = new CertificateSource({ certPem, keyPem }, sec.ca.certPem);
      const description = await this.o.describe();
      const cluster: Omit<Cluster, 'Meta'> = {
        ID: clusterId,
        Spec: spec,
        JoinTokens: { Worker: sec.workerToken, Manager: sec.managerToken },
        RootCACert: sec.ca.certPem,
        RootCAKey: sec.ca.keyPem,
        RootCADigest: sec.ca.digest(),
        DefaultAddrPool: Array.isArray(req.DefaultAddrPool) && req.DefaultAddrPool.length > 0 ? req.DefaultAddrPool : ['10.0.0.0/8'],
        SubnetSize: Number.isInteger(req.SubnetSize) && req.SubnetSize! > 0 ? req.SubnetSize! : 24,
        DataPathPort: req.DataPathPort || 4789,
      };
      const node: Omit<Node, 'Meta'> = {
        ID: nodeId,
        Spec: { Labels: {}, Role: 'manager', Availability: availability },
        Description: description,
        Status: { State: 'ready', Addr: hostOf(advertise) },
        ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: advertise, RaftID: raftId },
        Certificate: { Status: 'issued', Certificate: certPem },
        Role: 'manager',
      };
      const state: SwarmState = { version: 1, nodeId, clusterId, role: 'manager', raftId, listenAddr: listen, advertiseAddr: advertise, managers: [{ nodeId, addr: advertise }] };
      this.swarm = state;
      this.state = 'pending';
      try {
        await this.startManager({ kind: 'new', cluster, node, ...(unlockKey ? { unlockKey } : {}) });
        await saveSwarmState(this.o.dir, state);
        await this.startAgent();
      } catch (e) {
        await this.teardown();
        await removeSwarmState(this.o.dir);
        this.keys.setKek(undefined);
        throw e instanceof SwarmError ? e : new SwarmError(500, `swarm init failed: ${(e as Error).message}`);
      }
      this.state = 'active';
      this.armPoll();
      this.o.log.info({ nodeId, clusterId, advertise }, 'swarm initialised');
      return nodeId;
    });
  }

  /** `init --force-new-cluster` on a manager: a single-manager cluster from this manager's Raft log. */
  private async forceNewClusterLocked(req: InitRequest): Promise<string> {
    const s = this.swarm!;
    if (s.role !== 'manager' || s.raftId === undefined) throw new SwarmError(400, 'ForceNewCluster: this node is not a manager; only a manager can force a new cluster from its state');
    const { listen, advertise } = this.addresses(req.ListenAddr ?? s.listenAddr, req.AdvertiseAddr ?? s.advertiseAddr);
    this.o.log.warn({ nodeId: s.nodeId }, 'forcing a new cluster from this manager\'s raft log');
    this.disarmPoll();
    await this.agent?.stop();
    this.agent = undefined;
    await this.manager?.stop();
    this.manager = undefined;
    const r = await forceNewCluster(join(this.o.dir, 'raft'), s.raftId, advertise);
    await rm(r.oldDir, { recursive: true, force: true });
    this.swarm = { ...s, listenAddr: listen, advertiseAddr: advertise, managers: [{ nodeId: s.nodeId, addr: advertise }] };
    await saveSwarmState(this.o.dir, this.swarm);
    try {
      await this.startManager({ kind: 'restart', remotes: [] });
      const m = this.manager!;
      await m.waitLeading(30_000);
      // its own Node keeps manager status at the (possibly new) address
      for (let attempt = 0; ; attempt++) {
        try {
          await m.store.update((tx) => {
            const n = tx.get('nodes', s.nodeId);
            if (n && n.ManagerStatus?.Addr !== advertise) tx.update('nodes', { ...n, ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: advertise, RaftID: s.raftId } });
          });
          break;
        } catch (e) {
          // the manager-status loop may write the same node at the same moment
          if (!isStoreError(e, 'out-of-sequence') || attempt >= 10) throw e;
        }
      }
      await this.startAgent();
      this.state = 'active';
      this.error = '';
    } catch (e) {
      this.state = 'error';
      this.error = (e as Error).message;
      throw new SwarmError(500, `force-new-cluster failed: ${this.error}`);
    } finally {
      this.armPoll();
    }
    this.o.log.info({ index: r.index, objects: r.objects }, 'new single-manager cluster from the surviving state');
    return s.nodeId;
  }

  // ---- join -------------------------------------------------------------------------------------

  join(raw: unknown): Promise<void> {
    return this.exclusive(async () => {
      if (!isObj(raw)) throw new SwarmError(400, 'the body must be a JSON object (SwarmJoinRequest)');
      const req = raw as JoinRequest;
      if (this.state !== 'inactive' || this.swarm) throw new SwarmError(503, ALREADY_IN_SWARM);
      if (!Array.isArray(req.RemoteAddrs) || req.RemoteAddrs.length === 0) throw new SwarmError(400, 'RemoteAddrs: at least 1 RemoteAddr is required to join');
      if (typeof req.JoinToken !== 'string' || req.JoinToken === '') throw new SwarmError(400, 'JoinToken: a join token is required');
      const remotes = req.RemoteAddrs.map((a, i) => {
        if (typeof a !== 'string') throw new SwarmError(400, `RemoteAddrs[${i}]: must be a string`);
        try {
          return formatHostPort(parseHostPort(a, `RemoteAddrs[${i}]`, 2377));
        } catch (e) {
          throw new SwarmError(400, (e as Error).message);
        }
      });
      const availability = availabilityOf(req.Availability);
      const { listen, advertise } = this.addresses(req.ListenAddr, req.AdvertiseAddr, remotes[0]);
      await removeSwarmState(this.o.dir);
      this.keys.setKek(undefined); // a joining manager's key is encrypted once it can open the cluster's unlock key
      this.state = 'pending';
      let joined;
      try {
        joined = await joinCluster({ remotes, token: req.JoinToken, availability, description: await this.o.describe(), addr: hostOf(advertise) });
      } catch (e) {
        this.state = 'inactive';
        if (e instanceof JoinError) throw new SwarmError(e.status, e.message);
        throw new SwarmError(500, (e as Error).message);
      }
      await this.keys.write({ rootPem: joined.rootCertificate, certPem: joined.certificate, keyPem: joined.keyPem });
      this.certs = new CertificateSource({ certPem: joined.certificate, keyPem: joined.keyPem }, joined.rootCertificate);
      const managers = dedupe([...joined.managers, ...remotes.map((addr) => ({ addr }))]);
      const state: SwarmState = {
        version: 1, nodeId: joined.nodeId, clusterId: joined.clusterId, role: joined.role,
        ...(joined.role === 'manager' ? { raftId: randomRaftId() } : {}),
        listenAddr: listen, advertiseAddr: advertise, managers,
      };
      this.swarm = state;
      await saveSwarmState(this.o.dir, state);
      try {
        if (joined.role === 'manager') await this.startManager({ kind: 'join', remotes: managers.map((m) => m.addr) });
        await this.startAgent();
      } catch (e) {
        this.state = 'error';
        this.error = (e as Error).message;
        this.armPoll();
        throw new SwarmError(500, `joined as ${joined.role} but could not start: ${this.error}`);
      }
      this.state = 'active';
      this.armPoll();
      this.o.log.info({ nodeId: joined.nodeId, role: joined.role, via: joined.via }, 'joined the swarm');
    });
  }

  // ---- leave ------------------------------------------------------------------------------------

  leave(force: boolean): Promise<void> {
    return this.exclusive(async () => {
      if (!this.swarm) throw new SwarmError(503, NOT_IN_SWARM);
      if (this.state === 'locked' && !force) throw new SwarmError(503, LEAVE_LOCKED);
      if (this.swarm.role === 'manager' && !force && this.state !== 'locked') throw new SwarmError(503, this.leaveRefusal());
      await this.teardown();
      await removeSwarmState(this.o.dir);
      this.keys.setKek(undefined);
      this.swarm = undefined;
      this.certs = undefined;
      this.state = 'inactive';
      this.error = '';
      this.o.log.info({}, 'left the swarm');
    });
  }

  private leaveRefusal(): string {
    let msg = 'You are attempting to leave the swarm on a node that is participating as a manager. ';
    const m = this.manager;
    if (m?.isLeader) {
      const voters = m.voters();
      const reachable = voters.filter((v) => v.reachable).length;
      const unreachable = voters.length - reachable;
      if (reachable - 1 < Math.floor((reachable + unreachable - 1) / 2) + 1 || reachable + unreachable === 1) {
        if (reachable === 1 && unreachable === 0) {
          return `${msg}Removing the last manager erases all current state of the swarm. Use \`--force\` to ignore this message. `;
        }
        msg += `Removing this node leaves ${reachable - 1} managers out of ${reachable + unreachable}. Without a Raft quorum your swarm will be inaccessible. `;
      }
    } else {
      msg += 'Doing so may lose the consensus of your cluster. ';
    }
    return `${msg}The only way to restore a swarm that has lost consensus is to reinitialize it with \`--force-new-cluster\`. Use \`--force\` to suppress this message.`;
  }

  // ---- roles ------------------------------------------------------------------------------------

  private async startManager(mode: ManagerMode): Promise<void> {
    const s = this.swarm!;
    if (s.raftId === undefined) this.swarm = { ...s, raftId: randomRaftId() };
    const st = this.swarm!;
    const m = new Manager({
      nodeId: st.nodeId, clusterId: st.clusterId, raftId: st.raftId!, dir: this.o.dir, listenAddr: st.listenAddr, advertiseAddr: st.advertiseAddr,
      certs: this.certs!, mode, log: this.o.log,
      // autolock: the manager keeps the key file under the cluster's unlock key; going from clear to
      // locked renews the certificate at the next poll (a new key that was never on disk in clear)
      keys: this.keys,
      onLocked: () => {
        this.renewDue = 0;
      },
      ...(this.o.timing ? { timing: this.o.timing } : {}),
      ...(this.o.controlPlugins ? { controlPlugins: this.o.controlPlugins } : {}),
      ...(this.o.registry ? { registry: this.o.registry } : {}),
    });
    this.manager = m;
    try {
      await m.start();
    } catch (e) {
      this.manager = undefined;
      await m.stop().catch(() => undefined);
      throw e;
    }
  }

  private async startAgent(): Promise<void> {
    const s = this.swarm!;
    const managers = dedupe([...(s.role === 'manager' ? [{ addr: s.advertiseAddr }] : []), ...s.managers]).map((m) => m.addr);
    const agent = new Agent({
      managers,
      credentials: rotatingChannelCredentials(this.certs!, { clusterId: s.clusterId }),
      nodeId: s.nodeId,
      description: await this.o.describe(),
      executor: this.o.executor,
      stateDir: join(this.o.dir, 'worker'),
      now: Date.now,
      random: Math.random,
      log: this.o.log,
      addr: hostOf(s.advertiseAddr),
    });
    await agent.start();
    this.agent = agent;
  }

  /** Stops the agent (shutting its tasks down) and the manager role. */
  private async teardown(): Promise<void> {
    this.disarmPoll();
    const agent = this.agent;
    this.agent = undefined;
    if (agent) {
      const tasks = [...agent.tasks.values()].map((r) => r.task);
      await agent.stop().catch(() => undefined);
      for (const t of tasks) {
        await this.o.executor.shutdown(t).catch(() => undefined);
        await this.o.executor.remove(t).catch(() => undefined);
      }
    }
    const m = this.manager;
    this.manager = undefined;
    await m?.stop().catch(() => undefined);
  }

  private armPoll(): void {
    if (this.stopped || !this.swarm) return;
    this.disarmPoll();
    this.pollTimer = setInterval(() => void this.pollRole(), this.o.rolePollMs ?? 3000);
  }

  private disarmPoll(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    this.closePollClients();
  }

  /** Asks a manager for this node's role; renews the certificate and switches roles when it changed. */
  /** One long-lived channel per manager for the role poll (credentials follow certificate renewals). */
  private pollClient(addr: string): grpc.Client {
    const s = this.swarm!;
    const key = `${s.clusterId}/${addr}`;
    let c = this.pollClients.get(key);
    if (!c || this.pollCerts !== this.certs) {
      if (this.pollCerts !== this.certs) this.closePollClients();
      this.pollCerts = this.certs;
      this.pollCreds ??= rotatingChannelCredentials(this.certs!, { clusterId: s.clusterId });
      c = new grpc.Client(addr, this.pollCreds, channelOptions());
      this.pollClients.set(key, c);
    }
    return c;
  }

  private closePollClients(): void {
    for (const c of this.pollClients.values()) c.close();
    this.pollClients.clear();
    this.pollCreds = undefined;
    this.pollCerts = undefined;
  }

  /** Asks a manager for this node's role; renews the certificate and switches roles when it changed. */
  private async pollRole(): Promise<void> {
    if (this.polling || !this.swarm || !this.certs) return;
    this.polling = true;
    try {
      const s = this.swarm;
      const all = dedupe([...(this.manager ? [{ addr: s.advertiseAddr }] : []), ...s.managers]).map((m) => m.addr);
      // the manager that answered last goes first
      const targets = this.lastPolled && all.includes(this.lastPolled) ? [this.lastPolled, ...all.filter((a) => a !== this.lastPolled)] : all;
      let last: unknown;
      for (const addr of targets) {
        const client = this.pollClient(addr);
        try {
          const st = await nodeStatus(client, 5000);
          this.lastPolled = addr;
          await this.onStatus(client, st.role, st.managers);
          return;
        } catch (e) {
          last = e;
          if (grpcCode(e) === grpc.status.PERMISSION_DENIED && /removed/.test(grpcMessage(e))) {
            await this.onRemoved(grpcMessage(e));
            return;
          }
        }
      }
      if (last) this.o.log.debug({ err: grpcMessage(last) }, 'role poll: no manager answered');
    } finally {
      this.polling = false;
    }
  }

  private async onStatus(client: grpc.Client, role: NodeRole, managers: KnownManager[]): Promise<void> {
    const s = this.swarm;
    if (!s || !this.certs) return;
    if (managers.length > 0 && JSON.stringify(managers) !== JSON.stringify(s.managers)) {
      this.swarm = { ...s, managers };
      await saveSwarmState(this.o.dir, this.swarm);
    }
    const cur = parseIdentity(this.certs.current().identity.certPem);
    if (this.renewDue === undefined) this.renewDue = renewAt(cur.notBefore, cur.notAfter, Math.random).getTime();
    if (cur.role === role && Date.now() < this.renewDue) {
      if (role === 'manager' && !this.manager && this.state !== 'inactive') await this.exclusive(() => this.switchRole('manager'));
      return;
    }
    const renewed = await renewCertificate(client);
    await this.keys.write({ rootPem: this.certs.current().rootPem, certPem: renewed.certPem, keyPem: renewed.keyPem });
    this.certs.update({ certPem: renewed.certPem, keyPem: renewed.keyPem });
    const id = parseIdentity(renewed.certPem);
    this.renewDue = renewAt(id.notBefore, id.notAfter, Math.random).getTime();
    this.o.log.info({ role: renewed.role }, 'node certificate renewed');
    if (renewed.role !== s.role || (renewed.role === 'manager' && !this.manager)) await this.exclusive(() => this.switchRole(renewed.role));
  }

  private async switchRole(role: NodeRole): Promise<void> {
    const s = this.swarm;
    if (!s) return;
    if (role === 'manager' && !this.manager) {
      this.o.log.info({}, 'promoted: starting the manager role');
      await rm(join(this.o.dir, 'raft'), { recursive: true, force: true });
      this.swarm = { ...s, role: 'manager', raftId: randomRaftId() };
      await saveSwarmState(this.o.dir, this.swarm);
      try {
        await this.startManager({ kind: 'join', remotes: s.managers.map((m) => m.addr) });
      } catch (e) {
        this.o.log.error({ err: (e as Error).message }, 'could not start the manager role; retrying at the next poll');
      }
    } else if (role === 'worker' && (this.manager || s.role === 'manager')) {
      this.o.log.info({}, 'demoted: stopping the manager role');
      const m = this.manager;
      this.manager = undefined;
      await m?.stop();
      // a worker's key is never locked (a worker could not follow unlock-key rotations)
      await this.keys.rekey(undefined).catch((e: unknown) => this.o.log.error({ err: (e as Error).message }, 'could not write the node key in clear after demotion'));
      await rm(join(this.o.dir, 'raft'), { recursive: true, force: true });
      const { raftId: _old, ...rest } = s;
      this.swarm = { ...rest, role: 'worker', managers: s.managers.filter((x) => x.addr !== s.advertiseAddr) };
      await saveSwarmState(this.o.dir, this.swarm);
    } else if (s.role !== role) {
      this.swarm = { ...s, role };
      await saveSwarmState(this.o.dir, this.swarm);
    }
  }

  private async onRemoved(message: string): Promise<void> {
    if (this.state === 'error') return;
    this.o.log.warn({ err: message }, 'this node was removed from the swarm');
    await this.exclusive(async () => {
      await this.teardown();
      this.state = 'error';
      this.error = message;
    });
  }

  // ---- what the API shows -----------------------------------------------------------------------

  swarmInfo(): SwarmInfo {
    const s = this.swarm;
    if (!s) return { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
    const info: SwarmInfo = {
      NodeID: s.nodeId,
      NodeAddr: hostOf(s.advertiseAddr),
      LocalNodeState: this.state,
      ControlAvailable: this.manager !== undefined,
      Error: this.error,
      RemoteManagers: s.managers.map((m) => ({ NodeID: m.nodeId ?? '', Addr: m.addr })),
    };
    const m = this.manager;
    if (m) {
      const v = m.store.view((tx) => ({ nodes: tx.find('nodes'), cluster: tx.find('clusters')[0] }));
      info.Nodes = v.nodes.length;
      info.Managers = v.nodes.filter((n) => n.Role === 'manager').length;
      info.RemoteManagers = v.nodes.filter((n) => n.ManagerStatus?.Addr).map((n) => ({ NodeID: n.ID, Addr: n.ManagerStatus!.Addr }));
      if (v.cluster) info.Cluster = renderClusterInfo(v.cluster);
    }
    return info;
  }

  /** Where a control REST request goes from this node. */
  controlTarget(): ControlTarget {
    const m = this.manager;
    if (!this.swarm) return { kind: 'refuse', status: 503, message: NOT_A_MANAGER_INACTIVE };
    if (this.state === 'locked') return { kind: 'refuse', status: 503, message: SWARM_LOCKED };
    if (!m) return { kind: 'refuse', status: 503, message: this.state === 'error' && this.error ? this.error : NOT_A_MANAGER_WORKER };
    const app = m.controlApp;
    if (m.isLeader && app) return { kind: 'local', app };
    return { kind: 'forward', forward: (r) => m.forwardControl(r), ...(app ? { localApp: app } : {}) };
  }

  private addresses(listenRaw: string | undefined, advertiseRaw: string | undefined, remote?: string): { listen: string; advertise: string } {
    try {
      const ifs = interfaceAddresses();
      const requested = listenRaw === undefined || listenRaw === '' || listenRaw === DEFAULT_LISTEN_ADDR ? this.o.listenAddr ?? DEFAULT_LISTEN_ADDR : listenRaw;
      const listen = parseHostPort(resolveInterface(requested, ifs), 'ListenAddr', 2377);
      const advRaw = advertiseRaw !== undefined && advertiseRaw !== '' ? advertiseRaw : this.o.advertiseAddr;
      const adv = advRaw === undefined ? undefined : resolveInterface(advRaw, ifs);
      const advertise = advertiseAddress(listen, adv, () => (remote && hostOf(remote).startsWith('127.') ? '127.0.0.1' : localAddress()));
      return { listen: formatHostPort(listen), advertise };
    } catch (e) {
      if (e instanceof AddressError) throw new SwarmError(400, e.message);
      throw e;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.disarmPoll();
    await this.queue.catch(() => undefined);
    const agent = this.agent;
    this.agent = undefined;
    await agent?.stop().catch(() => undefined);
    const m = this.manager;
    this.manager = undefined;
    await m?.stop().catch(() => undefined);
  }
}

function dedupe(list: KnownManager[]): KnownManager[] {
  const seen = new Map<string, KnownManager>();
  for (const m of list) if (!seen.has(m.addr)) seen.set(m.addr, m);
  return [...seen.values()];
}
