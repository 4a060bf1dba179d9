// Snapshot file names: `%016x-%016x.snap` (term, index), so that a name sort is a (term, index) sort.

const hex16 = (n: number): string => n.toString(16).padStart(16, '0');

export function snapName(term: number, index: number): string {
  return `${hex16(term)}-${hex16(index)}.snap`;
}

const RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export function parseSnapName(name: string): { term: number; index: number } | undefined {
  const m = RE.exec(name);
  if (m === null) return undefined;
  const term = Number.parseInt(m[1]!, 16);
  const index = Number.parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(term) || !Number.isSafeInteger(index)) return undefined;
  return { term, index };
}
