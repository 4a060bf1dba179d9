/**
 * Read and write transactions. A read transaction sees the store as of one moment; a write transaction
 * additionally sees its own pending changes and collects them into a batch. Every check a write can
 * fail (version, existence, unique name) is made here, before anything is proposed, and made again
 * when the batch is applied (see memory-store.ts).
 */
import type { Change, ObjectByTable, StoreObject, TableName } from './objects.js';
import { StoreError, OUT_OF_SEQUENCE } from './store-error.js';
import { type IndexName, type Table, hasIndex, indexKey, indexKeys, nameOf, UNIQUE_NAME_TABLES } from './table.js';

export type Tables = { readonly [T in TableName]: Table<T> };

export type Selector =
  | { all: true }
  | { idPrefix: string }
  | { name: string }
  | { index: IndexName; key: string };

export interface ReadTx {
  get<T extends TableName>(table: T, id: string): ObjectByTable[T] | undefined;
  /** Objects matching the selector, sorted by ID. */
  find<T extends TableName>(table: T, by?: Selector): ObjectByTable[T][];
  /** Exact ID, else exact name, else a unique ID prefix (as the docker CLI resolves references). */
  lookup<T extends TableName>(table: T, ref: string): ObjectByTable[T];
  count(table: TableName): number;
}

const byId = (a: StoreObject, b: StoreObject) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0);

class ReadTxImpl implements ReadTx {
  constructor(protected readonly tables: Tables) {}

  get<T extends TableName>(table: T, id: string): ObjectByTable[T] | undefined {
    return (this.tables[table] as Table<T>).get(id);
  }

  protected baseIds(table: TableName, by: Selector): Iterable<string> {
    const t = this.tables[table] as Table<TableName>;
    if ('all' in by) return t.objects.keys();
    if ('idPrefix' in by) return [...t.objects.keys()].filter((id) => id.startsWith(by.idPrefix));
    if ('name' in by) return t.lookup('name', by.name);
    if (!hasIndex(table, by.index)) throw new StoreError('invalid', `table ${table} has no index ${by.index}`);
    return t.lookup(by.index, by.key);
  }

  find<T extends TableName>(table: T, by: Selector = { all: true }): ObjectByTable[T][] {
    const out: ObjectByTable[T][] = [];
    for (const id of this.baseIds(table, by)) {
      const o = this.get(table, id);
      if (o) out.push(o);
    }
    return out.sort(byId);
  }

  lookup<T extends TableName>(table: T, ref: string): ObjectByTable[T] {
    if (ref === '') throw new StoreError('not-found', `${singular(table)} '' not found`);
    const exact = this.get(table, ref);
    if (exact) return exact;
    const named = this.find(table, { name: ref });
    if (named.length === 1) return named[0]!;
    if (named.length > 1) throw new StoreError('ambiguous', `${singular(table)} name '${ref}' is ambiguous (${named.length} matches)`);
    const pre = this.find(table, { idPrefix: ref });
    if (pre.length === 1) return pre[0]!;
    if (pre.length > 1) throw new StoreError('ambiguous', `${singular(table)} ID prefix '${ref}' is ambiguous (${pre.length} matches)`);
    throw new StoreError('not-found', `${singular(table)} ${ref} not found`);
  }

  count(table: TableName): number {
    return this.tables[table].objects.size;
  }
}

export function readTx(tables: Tables): ReadTx {
  return new ReadTxImpl(tables);
}

export function singular(table: TableName): string {
  return table.endsWith('s') ? table.slice(0, -1) : table;
}

export interface WriteTx extends ReadTx {
  /** Adds `obj` (its Meta is set by the store). Refused if the ID exists or the name is taken. */
  create<T extends TableName>(table: T, obj: Omit<ObjectByTable[T], 'Meta'> & { Meta?: unknown }): ObjectByTable[T];
  /** Replaces the object; `obj.Meta.Version` must be the stored one ('update out of sequence'). */
  update<T extends TableName>(table: T, obj: ObjectByTable[T]): ObjectByTable[T];
  /** Removes the object with this ID (not found → error). */
  delete(table: TableName, id: string): void;
  /** How many objects this transaction has touched so far. */
  readonly size: number;
}

interface Pending {
  /** the object before this transaction, if any */
  base: StoreObject | undefined;
  /** the object now (null = deleted in this transaction) */
  now: StoreObject | null;
}

/** A write transaction over `tables`; `changes()` gives the batch it built. */
export class WriteTxImpl extends ReadTxImpl implements WriteTx {
  /** per table, per ID (Maps keep insertion order) */
  private readonly pending = new Map<TableName, Map<string, Pending>>();
  private readonly order: [TableName, string][] = [];

  constructor(tables: Tables, private readonly now: string) {
    super(tables);
  }

  override get<T extends TableName>(table: T, id: string): ObjectByTable[T] | undefined {
    const p = this.pending.get(table)?.get(id);
    if (p) return (p.now ?? undefined) as ObjectByTable[T] | undefined;
    return super.get(table, id);
  }

  protected override baseIds(table: TableName, by: Selector): Iterable<string> {
    const mine = this.pending.get(table);
    if (!mine || mine.size === 0) return super.baseIds(table, by);
    const ids = new Set(super.baseIds(table, by));
    for (const [id, p] of mine) {
      if (p.now && matches(table, p.now, by)) ids.add(id);
      else ids.delete(id);
    }
    return ids;
  }

  private checkName(table: TableName, obj: StoreObject): void {
    if (!UNIQUE_NAME_TABLES.has(table)) return;
    const name = nameOf(table, obj);
    if (name === undefined) return;
    for (const other of this.find(table, { name })) {
      if (other.ID !== obj.ID) {
        throw new StoreError('name-conflict', `${singular(table)} name '${name}' is already in use by ${other.ID}`);
      }
    }
  }

  /** undo log for rollbackTo: [table, id, the object before (undefined = first touch)] */
  private readonly journal: [TableName, string, StoreObject | null | undefined][] = [];

  private record(table: TableName, id: string, now: StoreObject | null): void {
    let mine = this.pending.get(table);
    if (!mine) this.pending.set(table, (mine = new Map()));
    const p = mine.get(id);
    if (p) {
      this.journal.push([table, id, p.now]);
      p.now = now;
    } else {
      this.journal.push([table, id, undefined]);
      mine.set(id, { base: super.get(table, id), now });
      this.order.push([table, id]);
    }
  }

  /** A point to roll back to (a savepoint). */
  mark(): number {
    return this.journal.length;
  }

  /** Undoes every change recorded after `mark`. */
  rollbackTo(mark: number): void {
    while (this.journal.length > mark) {
      const [table, id, before] = this.journal.pop()!;
      const mine = this.pending.get(table)!;
      if (before === undefined) {
        mine.delete(id);
        this.order.pop(); // first touches are appended in journal order, so this is the same entry
      } else {
        mine.get(id)!.now = before;
      }
    }
  }

  /** The objects touched after `mark` (for size estimates). */
  touchedSince(mark: number): StoreObject[] {
    const out: StoreObject[] = [];
    for (let i = mark; i < this.journal.length; i++) {
      const [table, id] = this.journal[i]!;
      const p = this.pending.get(table)!.get(id)!;
      if (p.now) out.push(p.now);
    }
    return out;
  }

  create<T extends TableName>(table: T, obj: Omit<ObjectByTable[T], 'Meta'> & { Meta?: unknown }): ObjectByTable[T] {
    checkId(table, obj.ID);
    if (this.get(table, obj.ID)) throw new StoreError('exists', `${singular(table)} ${obj.ID} already exists`);
    const created = structuredClone({
      ...obj,
      Meta: { Version: { Index: 0 }, CreatedAt: this.now, UpdatedAt: this.now },
    }) as ObjectByTable[T];
    this.checkName(table, created);
    this.record(table, created.ID, created);
    return created;
  }

  update<T extends TableName>(table: T, obj: ObjectByTable[T]): ObjectByTable[T] {
    checkId(table, obj.ID);
    const cur = this.get(table, obj.ID);
    if (!cur) throw new StoreError('not-found', `${singular(table)} ${obj.ID} not found`);
    if (obj.Meta?.Version?.Index !== cur.Meta.Version.Index) throw new StoreError('out-of-sequence', OUT_OF_SEQUENCE);
    const updated = structuredClone({
      ...obj,
      Meta: { Version: { Index: cur.Meta.Version.Index }, CreatedAt: cur.Meta.CreatedAt, UpdatedAt: this.now },
    }) as ObjectByTable[T];
    this.checkName(table, updated);
    this.record(table, updated.ID, updated);
    return updated;
  }

  delete(table: TableName, id: string): void {
    if (!this.get(table, id)) throw new StoreError('not-found', `${singular(table)} ${id} not found`);
    this.record(table, id, null);
  }

  /** The batch: one change per object touched, in first-touch order. */
  changes(): Change[] {
    const out: Change[] = [];
    for (const [table, id] of this.order) {
      const p = this.pending.get(table)!.get(id)!;
      if (p.base === undefined) {
        if (p.now) out.push({ action: 'create', table, object: p.now });
      } else if (p.now === null) {
        out.push({ action: 'delete', table, object: p.base });
      } else {
        out.push({ action: 'update', table, object: p.now });
      }
    }
    return out;
  }

  /** Objects touched so far (for callers that split large writes into several batches). */
  get size(): number {
    return this.order.length;
  }
}

function checkId(table: TableName, id: unknown): void {
  if (typeof id !== 'string' || id === '') throw new StoreError('invalid', `${singular(table)} has no ID`);
}

function matches(table: TableName, o: StoreObject, by: Selector): boolean {
  if ('all' in by) return true;
  if ('idPrefix' in by) return o.ID.startsWith(by.idPrefix);
  if ('name' in by) return indexKeys(table, 'name', o).includes(indexKey('name', by.name));
  return indexKeys(table, by.index, o).includes(indexKey(by.index, by.key));
}
