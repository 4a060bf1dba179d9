/**
 * One table of the store: objects by ID plus secondary indexes. Index keys are computed by pure
 * functions of the object, so every replica builds the same indexes from the same objects.
 */
import type { ObjectByTable, StoreObject, TableName } from './objects.js';

export type IndexName =
  | 'name' // lower-cased Spec.Name (node: Spec.Name or Description.Hostname)
  | 'label' // "key" and "key=value" of the object's labels
  | 'service' // task.ServiceID
  | 'node' // task.NodeID
  | 'slot' // task "<ServiceID>/<Slot>"
  | 'serviceNode' // task "<ServiceID>/<NodeID>" (global services)
  | 'desiredState' // task.DesiredState
  | 'state' // task.Status.State, node.Status.State
  | 'role' // node.Role
  | 'hostname' // node.Description.Hostname
  | 'network' // services and tasks: the network IDs they attach to
  | 'secret' // services and tasks: referenced secret IDs
  | 'config'; // services and tasks: referenced config IDs

/** Tables whose names are unique (case-insensitively), as in SwarmKit. */
export const UNIQUE_NAME_TABLES: ReadonlySet<TableName> = new Set([
  'clusters', 'services', 'networks', 'volumes', 'secrets', 'configs',
]);

type KeyFn = (o: StoreObject) => string[];

function labelKeys(labels: Record<string, string> | undefined): string[] {
  if (!labels) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(labels)) out.push(k, `${k}=${v}`);
  return out;
}

function one(x: string | undefined): string[] {
  return x === undefined || x === '' ? [] : [x];
}

export function nameOf(table: TableName, o: StoreObject): string | undefined {
  const spec = (o as { Spec?: { Name?: string } }).Spec;
  if (table === 'nodes') {
    const n = o as ObjectByTable['nodes'];
    return n.Spec.Name || n.Description?.Hostname || undefined;
  }
  if (table === 'tasks') return undefined;
  return spec?.Name || undefined;
}

const asTask = (o: StoreObject) => o as ObjectByTable['tasks'];
const asNode = (o: StoreObject) => o as ObjectByTable['nodes'];
const asService = (o: StoreObject) => o as ObjectByTable['services'];

function taskSpecRefs(spec: ObjectByTable['tasks']['Spec'] | undefined) {
  return {
    network: (spec?.Networks ?? []).map((n) => n.Target),
    secret: (spec?.ContainerSpec?.Secrets ?? []).map((s) => s.SecretID),
    config: (spec?.ContainerSpec?.Configs ?? []).map((c) => c.ConfigID),
  };
}

const INDEXES: { readonly [T in TableName]: Partial<Record<IndexName, KeyFn>> } = {
  clusters: {},
  nodes: {
    role: (o) => [asNode(o).Role],
    hostname: (o) => one(asNode(o).Description?.Hostname),
    state: (o) => one(asNode(o).Status?.State),
    label: (o) => labelKeys(asNode(o).Spec.Labels),
  },
  services: {
    label: (o) => labelKeys(asService(o).Spec.Labels),
    network: (o) => taskSpecRefs(asService(o).Spec.TaskTemplate).network,
    secret: (o) => taskSpecRefs(asService(o).Spec.TaskTemplate).secret,
    config: (o) => taskSpecRefs(asService(o).Spec.TaskTemplate).config,
  },
  tasks: {
    service: (o) => one(asTask(o).ServiceID),
    node: (o) => one(asTask(o).NodeID),
    slot: (o) => (asTask(o).Slot > 0 ? [`${asTask(o).ServiceID}/${asTask(o).Slot}`] : []),
    serviceNode: (o) => (asTask(o).NodeID ? [`${asTask(o).ServiceID}/${asTask(o).NodeID}`] : []),
    desiredState: (o) => [asTask(o).DesiredState],
    state: (o) => [asTask(o).Status.State],
    label: (o) => labelKeys(asTask(o).Labels),
    network: (o) => taskSpecRefs(asTask(o).Spec).network,
    secret: (o) => taskSpecRefs(asTask(o).Spec).secret,
    config: (o) => taskSpecRefs(asTask(o).Spec).config,
  },
  networks: { label: (o) => labelKeys((o as ObjectByTable['networks']).Spec.Labels) },
  volumes: { label: (o) => labelKeys((o as ObjectByTable['volumes']).Spec.Labels) },
  secrets: { label: (o) => labelKeys((o as ObjectByTable['secrets']).Spec.Labels) },
  configs: { label: (o) => labelKeys((o as ObjectByTable['configs']).Spec.Labels) },
};

/** The keys `obj` has in `index` (empty when the table has no such index). */
export function indexKeys(table: TableName, index: IndexName, obj: StoreObject): string[] {
  if (index === 'name') {
    const n = nameOf(table, obj);
    return n === undefined ? [] : [n.toLowerCase()];
  }
  const fn = INDEXES[table][index];
  return fn ? fn(obj) : [];
}

export function hasIndex(table: TableName, index: IndexName): boolean {
  return index === 'name' || INDEXES[table][index] !== undefined;
}

export function indexKey(index: IndexName, key: string): string {
  return index === 'name' ? key.toLowerCase() : key;
}

export class Table<T extends TableName> {
  readonly objects = new Map<string, ObjectByTable[T]>();
  private readonly indexes = new Map<IndexName, Map<string, Set<string>>>();
  private readonly names: IndexName[];

  constructor(readonly name: T) {
    this.names = ['name', ...(Object.keys(INDEXES[name]) as IndexName[])];
    for (const i of this.names) this.indexes.set(i, new Map());
  }

  get(id: string): ObjectByTable[T] | undefined {
    return this.objects.get(id);
  }

  put(obj: ObjectByTable[T]): void {
    const old = this.objects.get(obj.ID);
    if (old) this.unindex(old);
    this.objects.set(obj.ID, obj);
    for (const i of this.names) {
      const m = this.indexes.get(i)!;
      for (const k of indexKeys(this.name, i, obj)) {
        let s = m.get(k);
        if (!s) m.set(k, (s = new Set()));
        s.add(obj.ID);
      }
    }
  }

  remove(id: string): void {
    const old = this.objects.get(id);
    if (!old) return;
    this.unindex(old);
    this.objects.delete(id);
  }

  private unindex(obj: ObjectByTable[T]): void {
    for (const i of this.names) {
      const m = this.indexes.get(i)!;
      for (const k of indexKeys(this.name, i, obj)) {
        const s = m.get(k);
        if (!s) continue;
        s.delete(obj.ID);
        if (s.size === 0) m.delete(k);
      }
    }
  }

  /** IDs with `key` in `index` (unsorted). */
  lookup(index: IndexName, key: string): ReadonlySet<string> {
    return this.indexes.get(index)?.get(indexKey(index, key)) ?? EMPTY;
  }

  clear(): void {
    this.objects.clear();
    for (const m of this.indexes.values()) m.clear();
  }
}

const EMPTY: ReadonlySet<string> = new Set();
