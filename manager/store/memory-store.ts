/**
 * The in-memory object store: tables with indexes, read and write transactions, atomic application of
 * a batch at a Raft index, watches, snapshots. Pure and deterministic: the same batches applied at the
 * same indexes give byte-identical snapshots on every replica. No clock is read: the time stamped on
 * written objects is passed in by the caller.
 *
 * View and update functions are synchronous, so a reader can never see a half-applied batch.
 */
import type { Change, ObjectByTable, StoreObject, TableName } from './objects.js';
import { TABLES } from './objects.js';
import { StoreError, OUT_OF_SEQUENCE } from './store-error.js';
import { Table, nameOf, UNIQUE_NAME_TABLES } from './table.js';
import { type ReadTx, type Tables, type WriteTx, WriteTxImpl, readTx, singular } from './transaction.js';
import { type StoreEvent, type WatchOptions, type Watcher, WatchHub } from './watch.js';
import { canonicalJson, deepFreeze } from './canonical-json.js';
import { decodeSnapshot } from './batch-codec.js';

export type ApplyResult = { ok: true; index: number } | { ok: false; index: number; error: StoreError };

export interface Prepared<R> {
  result: R;
  changes: Change[];
}

export class MemoryStore {
  private readonly tables: Tables = {
    clusters: new Table('clusters'),
    nodes: new Table('nodes'),
    services: new Table('services'),
    tasks: new Table('tasks'),
    networks: new Table('networks'),
    volumes: new Table('volumes'),
    secrets: new Table('secrets'),
    configs: new Table('configs'),
  };
  private readonly hub = new WatchHub();
  private applied = 0;
  /** events of the last batches, for watchFrom; complete for every index after historyStart */
  private readonly history: { index: number; events: StoreEvent[] }[] = [];
  private historyStart = 0;

  /** `historyBatches`: how many applied batches' events watchFrom can replay (default 1024). */
  constructor(private readonly historyBatches = 1024) {}

  /** The Raft index of the last entry applied (or restored). */
  get appliedIndex(): number {
    return this.applied;
  }

  /** Runs a synchronous read; a function returning a promise is refused (later reads would not be consistent). */
  view<R>(fn: (tx: ReadTx) => R): R {
    return syncOnly(fn(readTx(this.tables)), 'view');
  }

  /**
   * Runs `fn` in a write transaction against the current state and returns the batch it built, without
   * applying it. Throws StoreError for a stale version, an existing ID, a taken name or a missing object.
   * `now` (RFC 3339) is stamped into Meta.CreatedAt/UpdatedAt.
   */
  prepare<R>(fn: (tx: WriteTx) => R, now: string): Prepared<R> {
    const tx = new WriteTxImpl(this.tables, now);
    const result = syncOnly(fn(tx), 'update');
    return { result, changes: tx.changes() };
  }

  /** A write transaction whose changes the caller takes with `changes()` (see BatchWriter). */
  beginWrite(now: string): WriteTxImpl {
    return new WriteTxImpl(this.tables, now);
  }

  /**
   * Applies a batch at `index`, all or nothing: every change is checked again against the state now
   * (a racing write that got in first makes this one fail with 'update out of sequence'). Created and
   * updated objects get Meta.Version.Index = index. The applied index advances either way.
   * With `owned`, the store takes the change objects as they are (freshly decoded ones) instead of
   * copying them.
   */
  apply(changes: readonly Change[], index: number, owned = false): ApplyResult {
    if (!Number.isSafeInteger(index) || index <= this.applied) {
      throw new StoreError('invalid', `apply at index ${index}, but ${this.applied} is already applied`);
    }
    const error = this.check(changes);
    this.applied = index;
    if (error) return { ok: false, index, error };
    const events: StoreEvent[] = [];
    for (const c of changes) {
      const t = this.tables[c.table] as Table<TableName>;
      const old = t.get(c.object.ID);
      if (c.action === 'delete') {
        t.remove(c.object.ID);
        events.push({ kind: 'change', action: 'delete', table: c.table, object: old!, oldObject: old!, index } as StoreEvent);
        continue;
      }
      const obj = (owned ? c.object : structuredClone(c.object)) as StoreObject;
      obj.Meta = { CreatedAt: obj.Meta.CreatedAt, UpdatedAt: obj.Meta.UpdatedAt, Version: { Index: index } };
      deepFreeze(obj);
      t.put(obj);
      events.push({
        kind: 'change', action: c.action, table: c.table, object: obj,
        ...(old ? { oldObject: old } : {}), index,
      } as StoreEvent);
    }
    if (events.length > 0) {
      events.push({ kind: 'commit', index });
      this.remember(index, events);
      this.hub.publish(events);
    }
    return { ok: true, index };
  }

  /** The first reason the batch cannot apply to the current state, or undefined. */
  private check(changes: readonly Change[]): StoreError | undefined {
    // What the batch has done so far, per table/ID (null = deleted), so a batch is checked as a sequence.
    const overlay = new Map<string, StoreObject | null>();
    const cur = (table: TableName, id: string): StoreObject | undefined => {
      const k = `${table}\u0000${id}`;
      return overlay.has(k) ? (overlay.get(k) ?? undefined) : this.tables[table].get(id);
    };
    const nameTaken = (table: TableName, obj: StoreObject): string | undefined => {
      if (!UNIQUE_NAME_TABLES.has(table)) return undefined;
      const name = nameOf(table, obj);
      if (name === undefined) return undefined;
      const lower = name.toLowerCase();
      for (const id of this.tables[table].lookup('name', lower)) {
        const o = id === obj.ID ? undefined : cur(table, id);
        if (o && nameOf(table, o)?.toLowerCase() === lower) return name;
      }
      for (const [k, o] of overlay) {
        if (o && o.ID !== obj.ID && k.startsWith(`${table}\u0000`) && nameOf(table, o)?.toLowerCase() === lower) return name;
      }
      return undefined;
    };
    for (const c of changes) {
      const what = `${singular(c.table)} ${c.object.ID}`;
      const existing = cur(c.table, c.object.ID);
      switch (c.action) {
        case 'create':
          if (existing) return new StoreError('exists', `${what} already exists`);
          break;
        case 'update':
          if (!existing) return new StoreError('not-found', `${what} not found`);
          if (existing.Meta.Version.Index !== c.object.Meta.Version.Index) {
            return new StoreError('out-of-sequence', OUT_OF_SEQUENCE);
          }
          break;
        case 'delete':
          if (!existing) return new StoreError('not-found', `${what} not found`);
          overlay.set(`${c.table}\u0000${c.object.ID}`, null);
          continue;
      }
      const taken = nameTaken(c.table, c.object);
      if (taken !== undefined) return new StoreError('name-conflict', `${singular(c.table)} name '${taken}' is already in use`);
      overlay.set(`${c.table}\u0000${c.object.ID}`, c.object);
    }
    return undefined;
  }

  /** A write applied locally at the next index (for a store without replication, and for tests). */
  update<R>(fn: (tx: WriteTx) => R, now: string): R {
    const { result, changes } = this.prepare(fn, now);
    if (changes.length === 0) return result;
    const r = this.apply(changes, this.applied + 1);
    if (!r.ok) throw r.error;
    return result;
  }

  /** Marks an index as applied that carried no store change (e.g. a Raft no-op or config change). */
  skip(index: number): void {
    if (index <= this.applied) throw new StoreError('invalid', `skip to ${index}, but ${this.applied} is already applied`);
    this.applied = index;
  }

  watch(opts?: WatchOptions): Watcher {
    return this.hub.watch(opts);
  }

  private remember(index: number, events: StoreEvent[]): void {
    if (this.historyBatches <= 0) {
      this.historyStart = index;
      return;
    }
    this.history.push({ index, events });
    if (this.history.length > this.historyBatches) {
      const dropped = this.history.splice(0, this.history.length - this.historyBatches);
      this.historyStart = dropped.at(-1)!.index;
    }
  }

  /**
   * A watcher that first replays every event after `index` (from the kept history), then continues
   * live. 'compacted' when events after `index` are no longer kept (read with viewAndWatch instead).
   */
  watchFrom(index: number, opts?: WatchOptions): Watcher {
    if (!Number.isSafeInteger(index) || index < 0 || index > this.applied) {
      throw new StoreError('invalid', `watchFrom(${index}): the store has applied up to ${this.applied}`);
    }
    if (index < this.historyStart) {
      throw new StoreError('compacted', `events after index ${index} are no longer kept (history starts after ${this.historyStart})`);
    }
    const w = this.hub.watch(opts);
    for (const h of this.history) if (h.index > index) for (const e of h.events) w.offer(e);
    return w;
  }

  /** A consistent read plus a watcher that starts exactly after it (no event missed or seen twice). */
  viewAndWatch<R>(fn: (tx: ReadTx) => R, opts?: WatchOptions): { result: R; watcher: Watcher } {
    const result = this.view(fn);
    return { result, watcher: this.hub.watch(opts) };
  }

  get watcherCount(): number {
    return this.hub.size;
  }

  /** Deterministic encoding of the whole state (tables in fixed order, objects by ID, keys sorted). */
  snapshot(): Uint8Array {
    const tables: Record<string, StoreObject[]> = {};
    for (const name of TABLES) {
      tables[name] = [...this.tables[name].objects.values()].sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
    }
    return new TextEncoder().encode(canonicalJson({ v: 1, index: this.applied, tables }));
  }

  /**
   * Replaces the whole state with a snapshot. Watchers are closed with an error ('closed'): what they
   * saw may no longer hold, so they must read again.
   */
  restore(data: Uint8Array): void {
    const snap = decodeSnapshot(data);
    for (const name of TABLES) this.tables[name].clear();
    for (const name of TABLES) {
      const t = this.tables[name] as Table<TableName>;
      for (const o of snap.tables[name]) t.put(deepFreeze(o));
    }
    this.applied = snap.index;
    this.history.length = 0;
    this.historyStart = snap.index;
    this.hub.closeAll(new StoreError('closed', `store restored from a snapshot at index ${snap.index}`));
  }

  /** Closes every watcher (cleanly). */
  close(): void {
    this.hub.closeAll();
  }

  /** Typed access for the few callers that need the raw object count per table. */
  sizes(): Record<TableName, number> {
    const out = {} as Record<TableName, number>;
    for (const name of TABLES) out[name] = this.tables[name].objects.size;
    return out;
  }
}

export type { ObjectByTable };

function syncOnly<R>(r: R, what: string): R {
  if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
    throw new StoreError('invalid', `${what} functions must be synchronous (this one returned a promise)`);
  }
  return r;
}
