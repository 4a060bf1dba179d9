/**
 * Wire and disk encodings of the store: a write batch as one Raft entry, and a whole-store snapshot.
 * Both are canonical JSON (deterministic bytes). Decoding checks the shape of everything it accepts.
 */
import type { Change, StoreObject, TableName } from './objects.js';
import { TABLES, isTableName } from './objects.js';
import { StoreError } from './store-error.js';
import { canonicalJson } from './canonical-json.js';

/** SwarmKit's MaxTransactionBytes: one proposal is at most 1.5 MiB. */
export const MAX_BATCH_BYTES = 1.5 * 1024 * 1024;

export interface Batch {
  /** which store instance proposed it (matches the applied entry to the waiting caller) */
  origin: string;
  seq: number;
  changes: Change[];
}

export function encodeBatch(b: Batch): Uint8Array {
  return new TextEncoder().encode(canonicalJson({ v: 1, kind: 'batch', origin: b.origin, seq: b.seq, changes: b.changes }));
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function parse(data: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (e) {
    throw new StoreError('invalid', `${what}: not JSON (${(e as Error).message})`, { cause: e });
  }
  if (!isRecord(v) || v.v !== 1) throw new StoreError('invalid', `${what}: not a version 1 record`);
  return v;
}

/** Checks the parts of an object the store itself relies on (ID, Meta.Version.Index). */
export function checkObject(table: TableName, o: unknown, where: string): StoreObject {
  if (!isRecord(o)) throw new StoreError('invalid', `${where}: object is not a record`);
  if (typeof o.ID !== 'string' || o.ID === '') throw new StoreError('invalid', `${where}: object has no ID`);
  const meta = o.Meta;
  if (!isRecord(meta) || !isRecord(meta.Version) || !Number.isSafeInteger(meta.Version.Index)) {
    throw new StoreError('invalid', `${where}: ${o.ID} has no Meta.Version.Index`);
  }
  if (typeof meta.CreatedAt !== 'string' || typeof meta.UpdatedAt !== 'string') {
    throw new StoreError('invalid', `${where}: ${o.ID} has no Meta.CreatedAt/UpdatedAt`);
  }
  if (table !== 'tasks' && !isRecord(o.Spec)) throw new StoreError('invalid', `${where}: ${o.ID} has no Spec`);
  if (table === 'tasks' && (typeof o.ServiceID !== 'string' || !isRecord(o.Status))) {
    throw new StoreError('invalid', `${where}: task ${o.ID} has no ServiceID/Status`);
  }
  if (table === 'nodes' && (typeof o.Role !== 'string' || !isRecord(o.Description))) {
    throw new StoreError('invalid', `${where}: node ${o.ID} has no Role/Description`);
  }
  return o as unknown as StoreObject;
}

export function decodeBatch(data: Uint8Array): Batch {
  const v = parse(data, 'store batch');
  if (v.kind !== 'batch' || typeof v.origin !== 'string' || !Number.isSafeInteger(v.seq) || !Array.isArray(v.changes)) {
    throw new StoreError('invalid', 'store batch: missing kind/origin/seq/changes');
  }
  const changes: Change[] = v.changes.map((c: unknown, i: number) => {
    const where = `store batch change ${i}`;
    if (!isRecord(c)) throw new StoreError('invalid', `${where}: not a record`);
    if (c.action !== 'create' && c.action !== 'update' && c.action !== 'delete') {
      throw new StoreError('invalid', `${where}: bad action ${String(c.action)}`);
    }
    if (!isTableName(c.table)) throw new StoreError('invalid', `${where}: bad table ${String(c.table)}`);
    return { action: c.action, table: c.table, object: checkObject(c.table, c.object, where) } as Change;
  });
  return { origin: v.origin, seq: v.seq as number, changes };
}

export interface DecodedSnapshot {
  index: number;
  tables: Record<TableName, StoreObject[]>;
}

export function decodeSnapshot(data: Uint8Array): DecodedSnapshot {
  const v = parse(data, 'store snapshot');
  if (!Number.isSafeInteger(v.index) || (v.index as number) < 0 || !isRecord(v.tables)) {
    throw new StoreError('invalid', 'store snapshot: missing index/tables');
  }
  const tables = {} as Record<TableName, StoreObject[]>;
  for (const name of TABLES) {
    const list = v.tables[name] ?? [];
    if (!Array.isArray(list)) throw new StoreError('invalid', `store snapshot: table ${name} is not a list`);
    const seen = new Set<string>();
    tables[name] = list.map((o: unknown, i: number) => {
      const obj = checkObject(name, o, `store snapshot ${name}[${i}]`);
      if (seen.has(obj.ID)) throw new StoreError('invalid', `store snapshot: duplicate ${name} ID ${obj.ID}`);
      seen.add(obj.ID);
      return obj;
    });
  }
  return { index: v.index as number, tables };
}
