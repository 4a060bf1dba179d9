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

const ZEROS = Buffer.alloc(1 << 20);

/** Writes zeros over [from, to) of fd (Node has no fallocate: this allocates the blocks for real). */
export function writeZeros(fd: number, from: number, to: number): void {
  let off = from;
  while (off < to) {
    const n = Math.min(ZEROS.length, to - off);
    off += writeSync(fd, ZEROS, 0, n, off);
  }
}
