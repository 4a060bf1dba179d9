// The window of in-flight MsgApp messages to one follower (etcd-io/raft tracker/inflights.go): each
// slot remembers the last index and the bytes of one message; full when either limit is reached.

export class Inflights {
  private buf: { index: number; bytes: number }[] = [];
  private head = 0;
  private totalBytes = 0;

  /** size: max messages (> 0); maxBytes: max bytes in flight (0 = unlimited). */
  constructor(readonly size: number, readonly maxBytes: number) {
    if (!(size > 0)) throw new RangeError('inflights: size must be > 0');
  }

  clone(): Inflights {
    const c = new Inflights(this.size, this.maxBytes);
    c.buf = this.buf.slice(this.head);
    c.totalBytes = this.totalBytes;
    return c;
  }

  /** Records a message whose last entry is `index` carrying `bytes` of payload. Indexes must increase. */
  add(index: number, bytes: number): void {
    if (this.full()) throw new Error('inflights: cannot add into a full inflights');
    const n = this.buf.length;
    if (n > this.head && (this.buf[n - 1] as { index: number }).index >= index) {
      throw new Error(`inflights: index ${index} is not above the last in flight`);
    }
    this.buf.push({ index, bytes });
    this.totalBytes += bytes;
  }

  /** Frees every message whose last index is <= `to`. */
  freeLE(to: number): void {
    while (this.head < this.buf.length && (this.buf[this.head] as { index: number }).index <= to) {
      this.totalBytes -= (this.buf[this.head] as { bytes: number }).bytes;
      this.head++;
    }
    if (this.head === this.buf.length) {
      this.buf = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.buf.length) {
      this.buf = this.buf.slice(this.head);
      this.head = 0;
    }
  }

  full(): boolean {
    return this.count() >= this.size || (this.maxBytes > 0 && this.totalBytes >= this.maxBytes);
  }

  count(): number {
    return this.buf.length - this.head;
  }

  bytes(): number {
    return this.totalBytes;
  }

  reset(): void {
    this.buf = [];
    this.head = 0;
    this.totalBytes = 0;
  }
}
