// WAL segment file names: `%016x-%016x.wal` (sequence number, index of the first entry the segment may hold).

export interface SegmentName {
  seq: number;
  firstIndex: number;
  name: string;
}

const hex16 = (n: number): string => n.toString(16).padStart(16, '0');

export function segmentName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}.wal`;
}

const RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

/** Parses a segment file name; undefined for anything else (.tmp, .broken, stray files). */
export function parseSegmentName(name: string): SegmentName | undefined {
  const m = RE.exec(name);
  if (m === null) return undefined;
  const seq = Number.parseInt(m[1]!, 16);
  const firstIndex = Number.parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) return undefined;
  return { seq, firstIndex, name };
}

/** The segment files among `names`, in sequence order. */
export function sortedSegments(names: string[]): SegmentName[] {
  const out: SegmentName[] = [];
  for (const n of names) {
    const s = parseSegmentName(n);
    if (s !== undefined) out.push(s);
  }
  return out.sort((a, b) => a.seq - b.seq);
}
