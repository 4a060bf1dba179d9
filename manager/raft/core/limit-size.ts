// Entry size accounting shared by the log, storage and flow control.

import type { Entry } from './types.js';

/** Approximate encoded size of an entry: payload plus a fixed header (never 0, like a proto size). */
export function entrySize(e: Entry): number {
  return e.data.length + 16;
}

/** Payload bytes only (empty entries count 0 against the uncommitted limit, as in etcd). */
export function payloadSize(e: Entry): number {
  return e.data.length;
}

export function payloadsSize(ents: readonly Entry[]): number {
  let s = 0;
  for (const e of ents) s += e.data.length;
  return s;
}

export function entriesSize(ents: readonly Entry[]): number {
  let s = 0;
  for (const e of ents) s += entrySize(e);
  return s;
}

/** The longest prefix within maxSize bytes, but at least one entry. */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0] as Entry);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n] as Entry);
    if (size > maxSize) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}
