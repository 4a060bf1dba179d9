/**
 * The manager role's Prometheus metrics beside Raft's own (manager/raft/raft-metrics.ts), read when
 * scraped: store object counts per table, tasks by state, dispatcher sessions, and whether this
 * manager leads. One registry per Manager, so a promotion after a demotion registers afresh.
 */
import { Gauge, Registry } from 'prom-client';
import { TABLES, type ReplicatedStore } from '../store/index.js';

export function managerRegistry(o: { store: ReplicatedStore; sessions: () => number; isLeader: () => boolean }): Registry {
  const registry = new Registry();
  const registers = [registry];
  new Gauge({
    name: 'shoal_store_objects', help: 'Objects in the replicated store, per table', labelNames: ['table'], registers,
    collect() {
      const counts = o.store.view((tx) => TABLES.map((t) => [t, tx.count(t)] as const));
      for (const [t, n] of counts) this.set({ table: t }, n);
    },
  });
  new Gauge({
    name: 'shoal_tasks', help: 'Tasks in the store by observed state', labelNames: ['state'], registers,
    collect() {
      this.reset();
      const by = new Map<string, number>();
      for (const t of o.store.view((tx) => tx.find('tasks'))) by.set(t.Status.State, (by.get(t.Status.State) ?? 0) + 1);
      for (const [s, n] of by) this.set({ state: s }, n);
    },
  });
  new Gauge({ name: 'shoal_dispatcher_sessions', help: 'Worker sessions open on this manager (the leader)', registers, collect() { this.set(o.sessions()); } });
  new Gauge({ name: 'shoal_manager_is_leader', help: '1 while this manager leads', registers, collect() { this.set(o.isLeader() ? 1 : 0); } });
  return registry;
}
