/**
 * The allocator loop (SwarmKit's allocator): overlay networks get a subnet and a VXLAN ID
 * (`DriverState` + `IPAMOptions`); services get their Endpoint — ingress published ports from the
 * cluster-wide table (dynamic ones from 30000–32767) and, in vip mode, one virtual IP per attached
 * network; new tasks get an address on each of their networks (`NetworksAttachments`) and the
 * service's Endpoint, and move NEW → PENDING. Addresses of ended or deleted tasks, and the ports and
 * VIPs of deleted services, are given back. The leader rebuilds the tables from the store on start.
 */
import { randomBytes } from 'node:crypto';
import { defaultIngressSpec, needsIngress, NetworkAllocator, PortAllocator, type NetworkAllocation, type PortConfig as AllocPort } from '../allocator/index.js';
import { canonicalJson, generateId, type BatchWriter, type Endpoint, type Network, type ReadTx, type Service, type TableName, type Task } from '../store/index.js';
import { ReconcileLoop } from './loop-base.js';
import { isTerminal } from './task-state.js';

export const VXLAN_OPTION = 'com.docker.network.driver.overlay.vxlanid_list';

/** The allocation recorded on a network object, if any. */
export function recordedAllocation(n: Network): NetworkAllocation | undefined {
  const cfg = n.IPAMOptions?.Configs?.[0];
  const vni = Number(n.DriverState?.Options?.[VXLAN_OPTION]);
  if (!cfg?.Subnet || !cfg.Gateway || !Number.isInteger(vni) || vni <= 0) return undefined;
  return { subnet: cfg.Subnet, gateway: cfg.Gateway, vni, ...(cfg.IPRange ? { ipRange: cfg.IPRange } : {}) };
}

const isOverlay = (n: Network): boolean => (n.Spec.DriverConfiguration?.Name ?? 'overlay') === 'overlay';

/** Network targets of a spec resolved to IDs (targets may be names, as stacks write them). */
function networkIds(tx: ReadTx, targets: readonly { Target: string }[] | undefined): (string | undefined)[] {
  return (targets ?? []).map((t) => {
    if (tx.get('networks', t.Target)) return t.Target;
    return tx.find('networks', { name: t.Target })[0]?.ID;
  });
}

const ingressOf = (tx: ReadTx): Network | undefined => tx.find('networks').find((n) => n.Spec.Ingress === true);

/** The networks a service's tasks join: its own, and the ingress network when it publishes through the routing mesh. */
function serviceNetworkIds(tx: ReadTx, s: Service): (string | undefined)[] {
  const ids = networkIds(tx, s.Spec.TaskTemplate.Networks);
  if (needsIngress(s.Spec)) ids.push(ingressOf(tx)?.ID);
  return ids;
}

export class AllocatorLoop extends ReconcileLoop {
  readonly name = 'allocator';
  protected readonly tables: readonly TableName[] = ['tasks', 'services', 'networks', 'nodes', 'clusters'];
  private ports = new PortAllocator();
  private nets = new NetworkAllocator();
  private readonly taskAddrs = new Set<string>();
  private readonly nodeAddrs = new Set<string>();

  protected override onStart(): void {
    const names = new Map<string, string>();
    this.ports = new PortAllocator(undefined, (id) => names.get(id) ?? id);
    this.nets = new NetworkAllocator();
    this.taskAddrs.clear();
    this.nodeAddrs.clear();
    this.ctx.store.view((tx) => {
      for (const n of tx.find('networks')) {
        const a = recordedAllocation(n);
        if (a) {
          try {
            this.nets.restoreNetwork(n.ID, a);
          } catch (e) {
            this.ctx.log.warn({ network: n.ID, err: (e as Error).message }, 'network allocation not restored');
          }
        }
      }
      for (const s of tx.find('services')) {
        names.set(s.ID, s.Spec.Name);
        if (s.Endpoint?.Ports) this.ports.restore(s.ID, s.Endpoint.Ports as AllocPort[]);
        for (const v of s.Endpoint?.VirtualIPs ?? []) this.safe(() => this.nets.allocateVip(s.ID, v.NetworkID, v.Addr));
      }
      for (const n of tx.find('nodes')) {
        for (const a of n.Attachments ?? []) {
          for (const addr of a.Addresses) this.safe(() => this.nets.allocateNodeAddress(n.ID, a.Network.ID, addr));
          this.nodeAddrs.add(n.ID);
        }
      }
      for (const t of tx.find('tasks')) {
        if (isTerminal(t.Status.State)) continue;
        for (const a of t.NetworksAttachments ?? []) {
          for (const addr of a.Addresses) this.safe(() => this.nets.allocateTaskAddress(t.ID, a.Network.ID, addr));
          this.taskAddrs.add(t.ID);
        }
      }
    });
  }

  private safe(f: () => unknown): void {
    try {
      f();
    } catch (e) {
      this.ctx.log.warn({ err: (e as Error).message }, 'allocation not restored');
    }
  }

  /** The Endpoint the service should have now, or undefined while one of its networks is unallocated. */
  private endpointFor(tx: ReadTx, s: Service): Endpoint | undefined {
    const spec = s.Spec.EndpointSpec ?? { Mode: 'vip' as const };
    const ports = this.ports.allocate(s.ID, (spec.Ports ?? []) as AllocPort[]) as Endpoint['Ports'];
    const vips: { NetworkID: string; Addr: string }[] = [];
    if ((spec.Mode ?? 'vip') === 'vip') {
      for (const id of serviceNetworkIds(tx, s)) {
        if (!id || !this.nets.network(id)) return undefined;
        vips.push({ NetworkID: id, Addr: this.nets.allocateVip(s.ID, id) });
      }
    }
    const keep = new Set(vips.map((v) => v.NetworkID));
    for (const v of s.Endpoint?.VirtualIPs ?? []) if (!keep.has(v.NetworkID)) this.nets.releaseVips(s.ID, v.NetworkID);
    return { Spec: spec, ...(ports && ports.length > 0 ? { Ports: ports } : {}), VirtualIPs: vips };
  }

  protected async reconcile(): Promise<void> {
    const live = this.ctx.store.view((tx) => ({
      services: new Set(tx.find('services').map((s) => s.ID)),
      networks: new Set(tx.find('networks').map((n) => n.ID)),
      tasks: new Map(tx.find('tasks').map((t) => [t.ID, t] as const)),
    }));
    for (const id of this.ports.heldServices()) {
      if (!live.services.has(id)) {
        this.ports.release(id);
        this.nets.releaseVips(id);
      }
    }
    for (const id of [...this.taskAddrs]) {
      const t = live.tasks.get(id);
      if (!t || isTerminal(t.Status.State)) {
        this.nets.releaseTask(id);
        this.taskAddrs.delete(id);
      }
    }
    for (const id of this.nets.networkIds()) if (!live.networks.has(id)) this.nets.releaseNetwork(id);
    const now = this.nowIso();
    await this.ensureIngress();
    await this.ctx.store.batch(async (b) => {
      // networks
      const nets = this.ctx.store.view((tx) => tx.find('networks'));
      for (const n of nets) {
        if (!isOverlay(n) || this.nets.network(n.ID)) continue;
        let a: NetworkAllocation;
        try {
          const cfg = n.Spec.IPAMOptions?.Configs?.[0];
          a = this.nets.allocateNetwork({ id: n.ID, ...(cfg?.Subnet ? { subnet: cfg.Subnet } : {}), ...(cfg?.Gateway ? { gateway: cfg.Gateway } : {}), ...(cfg?.IPRange ? { ipRange: cfg.IPRange } : {}) });
        } catch (e) {
          this.ctx.log.warn({ network: n.ID, err: (e as Error).message }, 'network allocation failed');
          continue;
        }
        await b.update((tx) => {
          const cur = tx.get('networks', n.ID);
          if (!cur) return;
          tx.update('networks', {
            ...cur,
            DriverState: { Name: 'overlay', Options: { ...(cur.DriverState?.Options ?? {}), [VXLAN_OPTION]: String(a.vni) } },
            IPAMOptions: { Driver: { Name: 'default' }, Configs: [{ Subnet: a.subnet, Gateway: a.gateway, ...(a.ipRange ? { IPRange: a.ipRange } : {}) }] },
          });
        });
      }
      await this.nodeAddresses(b);
      // service endpoints
      const services = this.ctx.store.view((tx) => tx.find('services'));
      for (const s of services) {
        let ep: Endpoint | undefined;
        try {
          ep = this.ctx.store.view((tx) => this.endpointFor(tx, s));
        } catch (e) {
          this.ctx.log.warn({ service: s.ID, err: (e as Error).message }, 'endpoint allocation failed');
          continue;
        }
        if (!ep || (s.Endpoint && canonicalJson(s.Endpoint) === canonicalJson(ep))) continue;
        const endpoint = ep;
        await b.update((tx) => {
          const cur = tx.get('services', s.ID);
          if (!cur || cur.Meta.Version.Index !== s.Meta.Version.Index) return;
          tx.update('services', { ...cur, Endpoint: endpoint });
        });
      }
      // new tasks
      const fresh = [...live.tasks.values()].filter((t) => t.Status.State === 'new').map((t) => t.ID);
      for (const id of fresh) {
        await b.update((tx) => {
          const t = tx.get('tasks', id);
          if (!t || t.Status.State !== 'new') return;
          const svc = tx.get('services', t.ServiceID);
          if (!svc) return;
          if (!svc.Endpoint) return; // wait for the service's endpoint
          const attachments = this.attach(tx, t);
          if (!attachments) return; // a network is not allocated yet
          tx.update('tasks', {
            ...t,
            Endpoint: svc.Endpoint,
            ...(attachments.length > 0 ? { NetworksAttachments: attachments } : {}),
            Status: { Timestamp: now, State: 'pending', Message: 'pending task scheduling' },
          });
        });
      }
    });
  }

  /** The default ingress network, made once per swarm (the Cluster records it, so a removed one stays removed). */
  private async ensureIngress(): Promise<void> {
    const c = this.ctx.store.view((tx) => tx.find('clusters')[0]);
    if (!c || c.IngressCreated) return;
    const id = generateId((n) => randomBytes(n));
    await this.ctx.store.update((tx) => {
      const cur = tx.find('clusters')[0];
      if (!cur || cur.IngressCreated) return;
      if (!ingressOf(tx) && tx.find('networks', { name: 'ingress' }).length === 0) tx.create('networks', { ID: id, Spec: defaultIngressSpec() } as Network);
      tx.update('clusters', { ...cur, IngressCreated: true });
    });
  }

  /**
   * Every node gets an address of its own on the ingress network while some service publishes through
   * the routing mesh (its published ports are forwarded from there); a deleted node's is given back.
   */
  private async nodeAddresses(b: BatchWriter): Promise<void> {
    const { ingress, nodes, wanted } = this.ctx.store.view((tx) => ({
      ingress: ingressOf(tx),
      nodes: tx.find('nodes'),
      wanted: tx.find('services').some((s) => needsIngress(s.Spec)),
    }));
    const liveNodes = new Set(nodes.map((n) => n.ID));
    for (const id of this.nodeAddrs) if (!liveNodes.has(id)) {
      this.nets.releaseNode(id);
      this.nodeAddrs.delete(id);
    }
    if (!ingress || !wanted || !this.nets.network(ingress.ID) || !recordedAllocation(ingress)) return;
    for (const n of nodes) {
      if (n.Attachments?.some((a) => a.Network.ID === ingress.ID)) continue;
      let addr: string;
      try {
        addr = this.nets.allocateNodeAddress(n.ID, ingress.ID);
      } catch (e) {
        this.ctx.log.warn({ node: n.ID, err: (e as Error).message }, 'no ingress address for the node');
        return;
      }
      this.nodeAddrs.add(n.ID);
      await b.update((tx) => {
        const cur = tx.get('nodes', n.ID);
        const net = tx.get('networks', ingress.ID);
        if (!cur || !net) return;
        tx.update('nodes', { ...cur, Attachments: [...(cur.Attachments ?? []).filter((a) => a.Network.ID !== net.ID), { Network: net, Addresses: [addr] }] });
      });
    }
  }

  private attach(tx: ReadTx, t: Task): Task['NetworksAttachments'] | undefined {
    const out: NonNullable<Task['NetworksAttachments']> = [];
    const svc = tx.get('services', t.ServiceID);
    const ids = networkIds(tx, t.Spec.Networks);
    if (svc && needsIngress(svc.Spec)) ids.push(ingressOf(tx)?.ID);
    for (const id of ids) {
      const n = id ? tx.get('networks', id) : undefined;
      if (!n || !this.nets.network(n.ID) || !recordedAllocation(n)) return undefined;
      out.push({ Network: n, Addresses: [this.nets.allocateTaskAddress(t.ID, n.ID)] });
      this.taskAddrs.add(t.ID);
    }
    return out;
  }
}
