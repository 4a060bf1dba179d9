/**
 * The updater loop: rolling updates and rollbacks. A service whose runnable tasks do not run its current
 * task template is updated batch by batch: UpdateConfig.Parallelism tasks at a time (0 = all), each slot
 * replaced stop-first (old shut down, then the new one created) or start-first (the new one created, the
 * old one shut down once the new runs); after a batch runs, UpdateConfig.Delay before the next. A new
 * task that fails before it has run for UpdateConfig.Monitor counts as a failure; once failures exceed
 * MaxFailureRatio of the tasks to update, FailureAction applies: pause (UpdateStatus "paused"), continue,
 * or rollback (Spec ← PreviousSpec, "rollback_started", then rolled back with RollbackConfig).
 * UpdateStatus ends "completed" / "rollback_completed".
 */
import { generateId, type Service, type TableName, type Task, type UpdateConfig, type UpdateStatus } from '../store/index.js';
import { defaultUpdateConfig } from '../controlapi/validate.js';
import { ReconcileLoop } from './loop-base.js';
import { isUpToDate, modeKind, newTask } from './task-factory.js';
import { isTerminal, stateOrder } from './task-state.js';

const NS_PER_MS = 1_000_000;

interface Progress {
  /** the Meta.Version.Index of the service when this update (or rollback) began */
  key: string;
  /** new task ID → old task ID to shut down once it runs (start-first), or '' */
  batch: Map<string, string>;
  /** new task IDs and when they were first seen running (ms) */
  started: Map<string, number>;
  failed: Set<string>;
  /** total tasks to update when the update began */
  total: number;
  /** earliest time (ms) for the next batch */
  nextAt: number;
}

const rank = (t: Task): number => stateOrder(t.Status.State);

export class UpdaterLoop extends ReconcileLoop {
  readonly name = 'updater';
  protected readonly tables: readonly TableName[] = ['tasks', 'services'];
  private readonly progress = new Map<string, Progress>();

  protected override onStop(): void {
    this.progress.clear();
  }

  protected async reconcile(): Promise<void> {
    const now = this.ctx.now();
    const { services, tasksBy } = this.ctx.store.view((tx) => {
      const tasksBy = new Map<string, Task[]>();
      for (const t of tx.find('tasks')) {
        let l = tasksBy.get(t.ServiceID);
        if (!l) tasksBy.set(t.ServiceID, (l = []));
        l.push(t);
      }
      return { services: tx.find('services'), tasksBy };
    });
    const live = new Set(services.map((s) => s.ID));
    for (const id of this.progress.keys()) if (!live.has(id)) this.progress.delete(id);
    for (const s of services) {
      const kind = modeKind(s);
      if (kind !== 'replicated' && kind !== 'global') continue;
      await this.service(s, tasksBy.get(s.ID) ?? [], now);
    }
  }

  private async setStatus(s: Service, st: UpdateStatus, rollback = false): Promise<void> {
    await this.ctx.store.update((tx) => {
      const cur = tx.get('services', s.ID);
      if (!cur || cur.Meta.Version.Index !== s.Meta.Version.Index) return;
      if (rollback && cur.PreviousSpec) {
        tx.update('services', { ...cur, Spec: cur.PreviousSpec, PreviousSpec: cur.Spec, UpdateStatus: st });
      } else tx.update('services', { ...cur, UpdateStatus: st });
    });
  }

  private async service(s: Service, tasks: Task[], now: number): Promise<void> {
    const st = s.UpdateStatus?.State;
    const rollingBack = st === 'rollback_started';
    if (st === 'paused' || st === 'rollback_paused') return;
    const live = tasks.filter((t) => stateOrder(t.DesiredState) <= stateOrder('running') && !isTerminal(t.Status.State));
    const dirty = live.filter((t) => !isUpToDate(t, s));
    const cfg: Required<UpdateConfig> = { ...defaultUpdateConfig(), ...((rollingBack ? s.Spec.RollbackConfig : s.Spec.UpdateConfig) ?? {}) };
    const key = `${rollingBack ? 'rollback' : 'update'}/${s.UpdateStatus?.StartedAt ?? ''}`;
    let p = this.progress.get(s.ID);

    if (!p || p.key !== key) {
      if (dirty.length === 0) {
        if (st === 'updating' || st === 'rollback_started') {
          this.progress.delete(s.ID);
          await this.setStatus(s, {
            ...s.UpdateStatus!,
            State: st === 'updating' ? 'completed' : 'rollback_completed',
            CompletedAt: new Date(now).toISOString(),
            Message: st === 'updating' ? 'update completed' : 'rollback completed',
          });
        }
        return;
      }
      if (!s.PreviousSpec && !st) return; // never updated: the orchestrator's tasks are current
      p = { key, batch: new Map(), started: new Map(), failed: new Set(), total: dirty.length, nextAt: now };
      this.progress.set(s.ID, p);
      if (!st) {
        await this.setStatus(s, { State: 'updating', StartedAt: new Date(now).toISOString(), Message: 'update in progress' });
        return; // the next pass sees the new UpdateStatus (and a new key)
      }
    }

    // follow the tasks this update created
    const byId = new Map(tasks.map((t) => [t.ID, t]));
    const monitorMs = cfg.Monitor / NS_PER_MS;
    let newFailure: Task | undefined;
    for (const [id] of [...p.started, ...p.batch]) {
      const t = byId.get(id);
      if (!t || p.failed.has(id)) continue;
      if (t.Status.State === 'running' && !p.started.has(id)) p.started.set(id, now);
      const ranFor = p.started.has(id) ? now - p.started.get(id)! : 0;
      if (isTerminal(t.Status.State) && t.Status.State !== 'complete' && ranFor < monitorMs + 1) {
        p.failed.add(id);
        newFailure = t;
      }
    }
    // start-first: shut the old task once the new one runs (or failed)
    const shutdown: string[] = [];
    for (const [nid, oid] of p.batch) {
      const t = byId.get(nid);
      if (oid && t && (t.Status.State === 'running' || isTerminal(t.Status.State))) shutdown.push(oid);
    }
    if (shutdown.length > 0) {
      await this.ctx.store.batch(async (b) => {
        for (const oid of shutdown) {
          await b.update((tx) => {
            const o = tx.get('tasks', oid);
            if (o && stateOrder(o.DesiredState) < stateOrder('shutdown')) tx.update('tasks', { ...o, DesiredState: 'shutdown' });
          });
        }
      });
      for (const [nid, oid] of p.batch) if (shutdown.includes(oid)) p.batch.set(nid, '');
    }

    if (newFailure && p.failed.size > cfg.MaxFailureRatio * p.total) {
      const why = `update paused due to failure or early termination of task ${newFailure.ID}`;
      if (cfg.FailureAction === 'pause' || rollingBack) {
        this.progress.delete(s.ID);
        await this.setStatus(s, { ...s.UpdateStatus!, State: rollingBack ? 'rollback_paused' : 'paused', Message: why });
        return;
      }
      if (cfg.FailureAction === 'rollback' && s.PreviousSpec) {
        this.progress.delete(s.ID);
        await this.setStatus(
          s,
          { State: 'rollback_started', StartedAt: new Date(now).toISOString(), Message: `update rolled back due to failure or early termination of task ${newFailure.ID}` },
          true,
        );
        return;
      }
    }

    // the current batch is done when each new task runs (past its monitor window) or failed, or the
    // orchestrator gave up on it (its node went down or was drained before it ran: it will never report,
    // and the slot's replacement is made from the current spec)
    const pendingBatch = [...p.batch.keys()].filter((id) => {
      const t = byId.get(id);
      if (!t || p!.failed.has(id)) return false;
      if (isTerminal(t.Status.State)) return false;
      if (stateOrder(t.DesiredState) > stateOrder('running')) return false;
      return t.Status.State !== 'running';
    });
    if (pendingBatch.length > 0) return;
    if (p.batch.size > 0) {
      p.batch.clear();
      p.nextAt = now + cfg.Delay / NS_PER_MS;
    }
    if (dirty.length === 0) {
      // wait out the monitor window of the last tasks, then complete
      const last = Math.max(0, ...[...p.started.values()]);
      if (now < last + monitorMs) {
        this.kickAfter(last + monitorMs - now);
        return;
      }
      this.progress.delete(s.ID);
      await this.setStatus(s, {
        ...s.UpdateStatus!,
        State: rollingBack ? 'rollback_completed' : 'completed',
        CompletedAt: new Date(now).toISOString(),
        Message: rollingBack ? 'rollback completed' : 'update completed',
      });
      return;
    }
    if (now < p.nextAt) {
      this.kickAfter(p.nextAt - now);
      return;
    }

    // next batch: running-state tasks last (replace broken/unstarted ones first), slot order
    const n = cfg.Parallelism === 0 ? dirty.length : Math.min(cfg.Parallelism, dirty.length);
    const pick = [...dirty].sort((a, b) => rank(a) - rank(b) || a.Slot - b.Slot || (a.NodeID < b.NodeID ? -1 : 1)).slice(0, n);
    const nowIso = new Date(now).toISOString();
    await this.ctx.store.batch(async (b) => {
      for (const old of pick) {
        const id = generateId(this.randomBytes);
        await b.update((tx) => {
          const o = tx.get('tasks', old.ID);
          const svc = tx.get('services', s.ID);
          if (!o || !svc || stateOrder(o.DesiredState) > stateOrder('running')) return;
          if (cfg.Order === 'stop-first') tx.update('tasks', { ...o, DesiredState: 'shutdown' });
          tx.create('tasks', newTask(svc, id, nowIso, { slot: o.Slot, ...(o.Slot === 0 ? { nodeId: o.NodeID } : {}) }));
          p!.batch.set(id, cfg.Order === 'start-first' ? old.ID : '');
        });
      }
    });
  }
}
