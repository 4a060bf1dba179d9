// Shared helpers for the raft-storage tests: unique scratch directories and entry builders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../../manager/raft/core/types.js';

/** A fresh directory under the system temp dir, removed by the returned cleanup (safe to call twice). */
export function scratchDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `shoal-raft-storage-${tag}-${process.pid}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Entries [from, to] at `term`, each with a small payload that names its index. */
export function entries(from: number, to: number, term = 1, size = 16): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) {
    const data = new Uint8Array(size);
    for (let j = 0; j < size; j++) data[j] = (i * 31 + j * 7 + 1) & 0xff || 1;
    out.push({ term, index: i, type: 0, data });
  }
  return out;
}
