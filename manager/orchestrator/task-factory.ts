/** Building new Task objects from a service (pure, given an ID and a time). */
import { canonicalJson, type Node, type Service, type Task, type TaskState } from '../store/index.js';

export function newTask(service: Service, id: string, nowIso: string, opts: { slot: number; nodeId?: string; desiredState?: TaskState }): Omit<Task, 'Meta'> {
  return {
    ID: id,
    ServiceID: service.ID,
    Slot: opts.slot,
    NodeID: opts.nodeId ?? '',
    Spec: service.Spec.TaskTemplate,
    SpecVersion: { Index: service.Meta.Version.Index },
    DesiredState: opts.desiredState ?? 'running',
    Status: { Timestamp: nowIso, State: 'new', Message: 'created' },
    ServiceAnnotations: { Name: service.Spec.Name, ...(service.Spec.Labels ? { Labels: service.Spec.Labels } : {}) },
    ...(service.Endpoint ? { Endpoint: service.Endpoint } : {}),
    ...(service.JobStatus ? { JobIteration: { Index: service.JobStatus.JobIteration.Index } } : {}),
  };
}

/** The job run a task belongs to (tasks without one count as the first run). */
export function jobIterationOf(t: Task): number {
  return t.JobIteration?.Index ?? 0;
}

export function currentJobIteration(s: Service): number {
  return s.JobStatus?.JobIteration.Index ?? 0;
}

/** Store objects are deep-frozen, so a spec's canonical form can be kept as long as the object lives. */
const canonical = new WeakMap<object, string>();
function canonicalOf(o: object): string {
  let c = canonical.get(o);
  if (c === undefined) {
    c = canonicalJson(o);
    if (Object.isFrozen(o)) canonical.set(o, c);
  }
  return c;
}

/** Whether the task runs the service's current task template (SwarmKit's IsTaskDirty, inverted). */
export function isUpToDate(task: Task, service: Service): boolean {
  const spec = task.Spec === service.Spec.TaskTemplate || canonicalOf(task.Spec) === canonicalOf(service.Spec.TaskTemplate);
  // SwarmKit's IsTaskDirty: a changed endpoint (published ports, vip/dnsrr) makes an allocated task dirty too —
  // a task joins the ingress network (the routing mesh) only when it is allocated
  return spec && (!task.Endpoint || canonicalOf(task.Endpoint.Spec) === canonicalOf(service.Spec.EndpointSpec ?? { Mode: 'vip' }));
}

export type ModeKind = 'replicated' | 'global' | 'replicated-job' | 'global-job';

export function modeKind(s: Service): ModeKind {
  if (s.Spec.Mode.Global) return 'global';
  if (s.Spec.Mode.ReplicatedJob) return 'replicated-job';
  if (s.Spec.Mode.GlobalJob) return 'global-job';
  return 'replicated';
}

/** SwarmKit's InvalidNode: gone, down or drained — its tasks must run elsewhere. */
export function nodeInvalid(n: Node | undefined): boolean {
  return !n || n.Status.State === 'down' || n.Spec.Availability === 'drain';
}
