// Small synchronous file helpers for the WAL and snapshot files: directory fsync and zero preallocation.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

/** fsyncs a directory, so that a rename or unlink in it is durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

let zeros: Buffer | undefined; // allocated on first use, not at import


/** Writes zeros over [from, to) of fd (Node has no fallocate: this allocates the blocks for real). */
export function writeZeros(fd: number, from: number, to: number): void {
  zeros ??= Buffer.alloc(1 << 20);
  let off = from;
  while (off < to) {
    const n = Math.min(zeros.length, to - off);
    off += writeSync(fd, zeros, 0, n, off);
  }
}
