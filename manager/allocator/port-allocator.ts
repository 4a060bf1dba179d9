/**
 * Published ports in ingress mode: one cluster-wide table per protocol. A requested port is refused
 * while another service holds it (Docker's message); a port left empty gets the lowest free one of the
 * dynamic range (30000–32767 by default). Host-mode ports are not allocated here: they belong to the node
 * where the task lands (the scheduler's host-port filter). Pure; rebuilt from the store with `restore`.
 */
import { NetworkError } from '../../worker/engine/network/errors.js';

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** A service's port as Docker's EndpointSpec.Ports / Endpoint.Ports carry it. */
export interface PortConfig {
  Name?: string;
  Protocol?: PortProtocol;
  TargetPort: number;
  PublishedPort?: number;
  PublishMode?: 'ingress' | 'host';
}

export interface PortRange {
  start: number;
  end: number;
}

export const DYNAMIC_PORT_RANGE: PortRange = { start: 30000, end: 32767 };

const key = (proto: PortProtocol, port: number): string => `${proto}/${port}`;

export class PortAllocator {
  private readonly owner = new Map<string, string>();
  private readonly byService = new Map<string, PortConfig[]>();

  constructor(
    private readonly dynamic: PortRange = DYNAMIC_PORT_RANGE,
    private readonly serviceName: (serviceId: string) => string = (id) => id,
  ) {}

  private validate(p: PortConfig, i: number): void {
    const where = `EndpointSpec.Ports[${i}]`;
    if (!Number.isInteger(p.TargetPort) || p.TargetPort < 1 || p.TargetPort > 65535) {
      throw new NetworkError(400, `${where}.TargetPort: ${String(p.TargetPort)} is not a port (1-65535)`);
    }
    if (p.PublishedPort !== undefined && p.PublishedPort !== 0 && (!Number.isInteger(p.PublishedPort) || p.PublishedPort < 1 || p.PublishedPort > 65535)) {
      throw new NetworkError(400, `${where}.PublishedPort: ${String(p.PublishedPort)} is not a port (1-65535)`);
    }
    if (p.Protocol !== undefined && !['tcp', 'udp', 'sctp'].includes(p.Protocol)) {
      throw new NetworkError(400, `${where}.Protocol: ${JSON.stringify(p.Protocol)} is not tcp, udp or sctp`);
    }
    if (p.PublishMode !== undefined && p.PublishMode !== 'ingress' && p.PublishMode !== 'host') {
      throw new NetworkError(400, `${where}.PublishMode: ${JSON.stringify(p.PublishMode)} is not ingress or host`);
    }
  }

  /**
   * Gives the service its ports (all or nothing): the result has every ingress port's PublishedPort set.
   * Calling again for the same service (an update) keeps the dynamic ports it already had for the same
   * protocol and target port, and gives back the ones it no longer uses.
   */
  allocate(serviceId: string, ports: readonly PortConfig[]): PortConfig[] {
    ports.forEach((p, i) => this.validate(p, i));
    const previous = this.byService.get(serviceId) ?? [];
    const mine = (k: string): boolean => this.owner.get(k) === serviceId;
    const taken = new Set<string>();
    const out: PortConfig[] = [];
    const seen = new Set<string>();
    // explicit ports first, so that a dynamic pick never takes a port asked for in the same spec
    const explicit = ports.filter((p) => (p.PublishMode ?? 'ingress') === 'ingress' && p.PublishedPort);
    for (const p of explicit) {
      const k = key(p.Protocol ?? 'tcp', p.PublishedPort!);
      if (seen.has(k)) throw new NetworkError(400, `published port ${p.PublishedPort}/${p.Protocol ?? 'tcp'} is listed twice`);
      seen.add(k);
      const holder = this.owner.get(k);
      if (holder !== undefined && holder !== serviceId) {
        throw new NetworkError(400, `port '${p.PublishedPort}' is already in use by service '${this.serviceName(holder)}' (${holder}) as an ingress port`);
      }
      taken.add(k);
    }
    for (const p of ports) {
      const proto = p.Protocol ?? 'tcp';
      const mode = p.PublishMode ?? 'ingress';
      const base: PortConfig = { ...p, Protocol: proto, PublishMode: mode };
      if (mode === 'host' || p.PublishedPort) {
        out.push(base);
        continue;
      }
      const kept = previous.find(
        (q) => q.Protocol === proto && q.TargetPort === p.TargetPort && q.PublishedPort !== undefined && !taken.has(key(proto, q.PublishedPort)),
      );
      let port = kept && mine(key(proto, kept.PublishedPort!)) ? kept.PublishedPort : undefined;
      if (port === undefined) {
        for (let c = this.dynamic.start; c <= this.dynamic.end; c++) {
          const k = key(proto, c);
          if (!taken.has(k) && (!this.owner.has(k) || mine(k))) {
            port = c;
            break;
          }
        }
      }
      if (port === undefined) {
        throw new NetworkError(409, `no free port left for ${proto} in the dynamic range ${this.dynamic.start}-${this.dynamic.end}`);
      }
      taken.add(key(proto, port));
      out.push({ ...base, PublishedPort: port });
    }
    this.release(serviceId);
    for (const k of taken) this.owner.set(k, serviceId);
    this.byService.set(serviceId, out.filter((p) => p.PublishMode === 'ingress'));
    return out;
  }

  release(serviceId: string): void {
    for (const p of this.byService.get(serviceId) ?? []) {
      const k = key(p.Protocol ?? 'tcp', p.PublishedPort!);
      if (this.owner.get(k) === serviceId) this.owner.delete(k);
    }
    this.byService.delete(serviceId);
  }

  /** Marks ports already recorded in the store as held (leader start-up). */
  restore(serviceId: string, ports: readonly PortConfig[]): void {
    const ingress = ports.filter((p) => (p.PublishMode ?? 'ingress') === 'ingress' && p.PublishedPort);
    for (const p of ingress) this.owner.set(key(p.Protocol ?? 'tcp', p.PublishedPort!), serviceId);
    this.byService.set(serviceId, ingress.map((p) => ({ ...p, Protocol: p.Protocol ?? 'tcp', PublishMode: 'ingress' })));
  }

  /** The services holding ports now. */
  heldServices(): string[] {
    return [...this.byService.keys()];
  }

  holder(proto: PortProtocol, port: number): string | undefined {
    return this.owner.get(key(proto, port));
  }
}
