// The raft log: persisted entries (Storage) plus the unstable tail (etcd-io/raft log.go).
// committed: known committed; applying: handed out to apply; applied: applied (advance).

import { entriesSize, limitSize } from './limit-size.js';
import { UnstableLog } from './log-unstable.js';
import { CompactedError, UnavailableError, type Entry, type Snapshot, type Storage } from './types.js';

export class LogInvariantError extends Error {
  constructor(message: string) { super(`raft log: ${message}`); this.name = 'LogInvariantError'; }
}

export class RaftLog {
  readonly unstable: UnstableLog;
  committed: number;
  applying: number;
  applied: number;
  private applyingEntsSize = 0;
  private applyingEntsPaused = false;

  constructor(readonly storage: Storage, readonly maxApplyingEntsSize: number) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new UnstableLog(last + 1);
    this.committed = first - 1;
    this.applying = first - 1;
    this.applied = first - 1;
  }

  /** Appends `ents` after (index, logTerm) if that entry matches; returns the new last index or undefined. */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) throw new LogInvariantError(`entry ${ci} conflicts with committed entry [committed(${this.committed})]`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = (ents[0] as Entry).index - 1;
    if (after < this.committed) throw new LogInvariantError(`after(${after}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** First index of an entry in `ents` that conflicts with the log (or is new); 0 if none. */
  findConflict(ents: Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /** Largest (index', term') with index' <= index and term' <= term; used for fast rejection. */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (; index > 0; index--) {
      const t = this.termOrUndefined(index);
      if (t === undefined) return { index, term: 0 };
      if (t <= term) return { index, term: t };
    }
    return { index: 0, term: 0 };
  }

  nextUnstableEnts(): Entry[] {
    return this.unstable.nextEntries();
  }

  hasNextUnstableEnts(): boolean {
    return this.unstable.nextEntries().length > 0;
  }

  hasNextOrInProgressUnstableEnts(): boolean {
    return this.unstable.entries.length > 0;
  }

  nextUnstableSnapshot(): Snapshot | undefined {
    return this.unstable.nextSnapshot();
  }

  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** Committed entries ready to hand out for applying (none while a snapshot is pending). */
  nextCommittedEnts(allowUnstable: boolean): Entry[] {
    if (this.applyingEntsPaused) return [];
    if (this.hasNextOrInProgressSnapshot()) return [];
    const lo = this.applying + 1;
    const hi = this.maxAppliableIndex(allowUnstable) + 1;
    if (lo >= hi) return [];
    const maxSize = this.maxApplyingEntsSize - this.applyingEntsSize;
    if (maxSize <= 0) throw new LogInvariantError(`applying entry size (${this.applyingEntsSize}) exceeds the limit`);
    return this.slice(lo, hi, maxSize);
  }

  hasNextCommittedEnts(allowUnstable: boolean): boolean {
    if (this.applyingEntsPaused) return false;
    if (this.hasNextOrInProgressSnapshot()) return false;
    return this.applying + 1 < this.maxAppliableIndex(allowUnstable) + 1;
  }

  private maxAppliableIndex(allowUnstable: boolean): number {
    let hi = this.committed;
    if (!allowUnstable) hi = Math.min(hi, this.unstable.offset - 1);
    return hi;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  commitTo(toCommit: number): void {
    if (this.committed < toCommit) {
      if (this.lastIndex() < toCommit) {
        throw new LogInvariantError(`tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]`);
      }
      this.committed = toCommit;
    }
  }

  appliedTo(i: number, size: number): void {
    if (this.committed < i || i < this.applied) {
      throw new LogInvariantError(`applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = i;
    this.applying = Math.max(this.applying, i);
    this.applyingEntsSize = this.applyingEntsSize > size ? this.applyingEntsSize - size : 0;
    this.applyingEntsPaused = this.applyingEntsSize >= this.maxApplyingEntsSize;
  }

  acceptApplying(i: number, size: number, allowUnstable: boolean): void {
    if (this.committed < i) throw new LogInvariantError(`applying(${i}) is out of range [committed(${this.committed})]`);
    this.applying = i;
    this.applyingEntsSize += size;
    this.applyingEntsPaused = this.applyingEntsSize >= this.maxApplyingEntsSize || i < this.maxAppliableIndex(allowUnstable);
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** Term of entry i; throws CompactedError / UnavailableError outside [firstIndex-1, lastIndex]. */
  term(i: number): number {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1 < this.firstIndex()) throw new CompactedError();
    if (i > this.lastIndex()) throw new UnavailableError();
    return this.storage.term(i);
  }

  termOrUndefined(i: number): number | undefined {
    // Out of range is the common case on a follower appending new entries: answer it without
    // constructing an exception (capturing a stack per entry cost ~2% of a follower's CPU).
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1 < this.firstIndex() || i > this.lastIndex()) return undefined;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return undefined;
      throw e;
    }
  }

  /** etcd's zeroTermOnOutOfBounds(term(i)). */
  termOrZero(i: number): number {
    return this.termOrUndefined(i) ?? 0;
  }

  /** Entries from i to the end, at most maxSize bytes (at least one). */
  entries(i: number, maxSize: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), Number.MAX_SAFE_INTEGER);
  }

  /** Is (lastIndex, term) at least as up to date as this log (§5.4.1)? */
  isUpToDate(lastIndex: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lastIndex >= this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    const t = this.termOrUndefined(i);
    return t !== undefined && t === term;
  }

  /** Commits up to maxIndex if that entry has `term` (only entries of the leader's own term, §5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries [lo, hi) within maxSize bytes; throws CompactedError when lo was compacted. */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    this.checkOutOfBounds(lo, hi);
    if (lo === hi) return [];
    const off = this.unstable.offset;
    if (lo >= off) return limitSize(this.unstable.slice(lo, hi), maxSize);
    const cut = Math.min(hi, off);
    const ents = this.storage.entries(lo, cut, maxSize);
    if (hi <= off) return ents;
    if (ents.length < cut - lo) return ents;
    const size = entriesSize(ents);
    if (size >= maxSize) return ents;
    const unstable = limitSize(this.unstable.slice(off, hi), maxSize - size);
    if (unstable.length === 1 && size + entriesSize(unstable) > maxSize) return ents;
    return ents.concat(unstable);
  }

  private checkOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) throw new LogInvariantError(`invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new CompactedError();
    const last = this.lastIndex();
    if (hi > last + 1) throw new LogInvariantError(`slice[${lo},${hi}) out of bound [${fi},${last}]`);
  }
}
