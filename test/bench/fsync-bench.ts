// Measures what a durable Raft write costs on this disk: WAL save() with mustSync (1 and 64 entries
// of 256 B, in a zero-preallocated and in a sparse segment) against a bare pwrite + fdatasync into a
// preallocated file, and DiskStorage's whole persist step (WAL + MemoryStorage). Prints p50/p90/p99/max in µs.
//   node dist/test/bench/fsync-bench.js [--iterations 1000] [--dir /path/on/the/disk/to/measure]
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../manager/raft/core/types.js';
import { DiskStorage } from '../../manager/raft/disk-storage.js';
import { writeZeros } from '../../manager/raft/wal/fs-util.js';
import { Wal } from '../../manager/raft/wal/wal.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

function stats(label: string, samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number): string => (s[Math.min(s.length - 1, Math.floor(p * s.length))]! / 1000).toFixed(0);
  return `${label.padEnd(44)} ${q(0.5).padStart(7)} ${q(0.9).padStart(7)} ${q(0.99).padStart(7)} ${(s[s.length - 1]! / 1000).toFixed(0).padStart(8)}`;
}

function rawFdatasync(dir: string, n: number, bytes: number): number[] {
  const file = join(dir, 'raw.prealloc');
  const fd = openSync(file, 'w+');
  const size = 1 << 20;
  writeZeros(fd, 0, size);
  fdatasyncSync(fd);
  const buf = Buffer.alloc(bytes, 0xab);
  const out: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      writeSync(fd, buf, 0, bytes, (i * bytes) % (size - bytes));
      fdatasyncSync(fd);
      out.push(Number(process.hrtime.bigint() - t0));
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

function walSaves(dir: string, n: number, perSave: number, preallocate: boolean, fsync = true): { samples: number[]; syncs: number } {
  const wal = Wal.create(dir, new Uint8Array(0), { preallocate, fsync });
  const data = new Uint8Array(256).fill(7);
  const out: number[] = [];
  let index = 0;
  try {
    for (let i = 0; i < n; i++) {
      const ents: Entry[] = [];
      for (let k = 0; k < perSave; k++) ents.push({ term: 1, index: ++index, type: 0, data });
      const t0 = process.hrtime.bigint();
      wal.save({ term: 1, vote: 1, commit: index - perSave }, ents, true);
      out.push(Number(process.hrtime.bigint() - t0));
    }
    return { samples: out, syncs: wal.syncs };
  } finally {
    wal.close();
  }
}

/** The whole persist step of a Ready: WAL save with fdatasync, then the MemoryStorage update. */
function diskStorageSaves(dir: string, n: number, perSave: number): number[] {
  const ds = DiskStorage.openSync(dir, {});
  ds.bootstrap([1]);
  const data = new Uint8Array(256).fill(7);
  const out: number[] = [];
  let index = 0;
  try {
    for (let i = 0; i < n; i++) {
      const ents: Entry[] = [];
      for (let k = 0; k < perSave; k++) ents.push({ term: 1, index: ++index, type: 0, data });
      const t0 = process.hrtime.bigint();
      ds.saveSync({ hardState: { term: 1, vote: 1, commit: index - perSave }, entries: ents, mustSync: true });
      out.push(Number(process.hrtime.bigint() - t0));
    }
    return out;
  } finally {
    ds.close();
  }
}

function main(): void {
  const n = Number(arg('iterations', '1000'));
  const root = mkdtempSync(join(arg('dir', tmpdir()), `shoal-fsync-bench-${process.pid}-`));
  try {
    console.log(`fsync bench: ${n} iterations in ${root}`);
    console.log(`${'operation'.padEnd(44)} ${'p50 µs'.padStart(7)} ${'p90'.padStart(7)} ${'p99'.padStart(7)} ${'max'.padStart(8)}`);
    console.log(stats('raw pwrite 256 B + fdatasync (preallocated)', rawFdatasync(root, n, 256)));
    console.log(stats('raw pwrite 16 KiB + fdatasync (preallocated)', rawFdatasync(root, n, 64 * 256)));
    for (const prealloc of [true, false]) {
      for (const per of [1, 64]) {
        const dir = join(root, `wal-${per}-${prealloc ? 'zero' : 'sparse'}`);
        const r = walSaves(dir, n, per, prealloc);
        const label = `WAL save ${per} × 256 B, mustSync (${prealloc ? 'zeroed' : 'sparse'} segment)`;
        console.log(stats(label, r.samples) + `   (${r.syncs} syncs)`);
      }
    }
    for (const per of [1, 64]) {
      const r = walSaves(join(root, `wal-${per}-cpu`), n, per, true, false);
      console.log(stats(`WAL save ${per} × 256 B, fsync off (CPU + pwrite)`, r.samples));
    }
    for (const per of [1, 64]) {
      console.log(stats(`DiskStorage save ${per} × 256 B, mustSync`, diskStorageSaves(join(root, `ds-${per}`), n, per)));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main();
