/**
 * The allocator loop: services get their Endpoint (ingress published ports from the cluster-wide table,
 * dynamic ones from 30000–32767); new tasks get the service's Endpoint and move NEW → PENDING. Ports of
 * deleted services are given back.
 */
import { PortAllocator, type PortConfig as AllocPort } from '../allocator/index.js';
import { canonicalJson, type Endpoint, type Service, type TableName } from '../store/index.js';
import { ReconcileLoop } from './loop-base.js';

export class AllocatorLoop extends ReconcileLoop {
  readonly name = 'allocator';
  protected readonly tables: readonly TableName[] = ['tasks', 'services'];
  private ports = new PortAllocator();

  protected override onStart(): void {
    const names = new Map<string, string>();
    this.ports = new PortAllocator(undefined, (id) => names.get(id) ?? id);
    this.ctx.store.view((tx) => {
      for (const s of tx.find('services')) {
        names.set(s.ID, s.Spec.Name);
        if (s.Endpoint?.Ports) this.ports.restore(s.ID, s.Endpoint.Ports as AllocPort[]);
      }
    });
  }

  private endpointFor(s: Service): Endpoint {
    const spec = s.Spec.EndpointSpec ?? { Mode: 'vip' as const };
    const ports = this.ports.allocate(s.ID, (spec.Ports ?? []) as AllocPort[]) as Endpoint['Ports'];
    return { Spec: spec, ...(ports && ports.length > 0 ? { Ports: ports } : {}), VirtualIPs: s.Endpoint?.VirtualIPs ?? [] };
  }

  protected async reconcile(): Promise<void> {
    const { services, newTasks, live } = this.ctx.store.view((tx) => ({
      services: tx.find('services'),
      newTasks: tx.find('tasks', { index: 'state', key: 'new' }).map((t) => t.ID),
      live: new Set(tx.find('services').map((s) => s.ID)),
    }));
    for (const id of this.ports.heldServices()) if (!live.has(id)) this.ports.release(id);
    const now = this.nowIso();
    await this.ctx.store.batch(async (b) => {
      for (const s of services) {
        if (s.Endpoint && canonicalJson(s.Endpoint.Spec) === canonicalJson(s.Spec.EndpointSpec ?? { Mode: 'vip' })) continue;
        let ep: Endpoint;
        try {
          ep = this.endpointFor(s);
        } catch (e) {
          this.ctx.log.warn({ service: s.ID, err: (e as Error).message }, 'port allocation failed');
          continue;
        }
        await b.update((tx) => {
          const cur = tx.get('services', s.ID);
          if (!cur || cur.Meta.Version.Index !== s.Meta.Version.Index) return;
          tx.update('services', { ...cur, Endpoint: ep });
        });
      }
      for (const id of newTasks) {
        await b.update((tx) => {
          const t = tx.get('tasks', id);
          if (!t || t.Status.State !== 'new') return;
          const svc = tx.get('services', t.ServiceID);
          if (!svc) return;
          if (!svc.Endpoint && (svc.Spec.EndpointSpec?.Ports ?? []).length > 0) return; // wait for its ports
          tx.update('tasks', {
            ...t,
            ...(svc.Endpoint ? { Endpoint: svc.Endpoint } : {}),
            Status: { Timestamp: now, State: 'pending', Message: 'pending task scheduling' },
          });
        });
      }
    });
  }
}
