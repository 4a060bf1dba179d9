/**
 * A replicated store without consensus: its proposer commits every proposal at once, at the next
 * index, through the same applyCommitted path Raft would use. For a single manager before the Raft
 * driver is wired in, and for tests of components that only need a store.
 */
import { randomUUID } from 'node:crypto';
import { type Proposer, ReplicatedStore } from './replicated-store.js';

export function createStandaloneStore(opts: { now: () => string; origin?: string }): ReplicatedStore {
  let store: ReplicatedStore | undefined;
  const proposer = {
    isLeader: () => true,
    propose: (data: Uint8Array) => {
      const s = store!;
      const index = s.appliedIndex + 1;
      s.applyCommitted(data, index);
      return Promise.resolve({ index });
    },
  };
  store = new ReplicatedStore({ proposer, origin: opts.origin ?? 'standalone', now: opts.now });
  return store;
}

/**
 * DESIGN.md's `createMemoryStore(proposer?)`: replicated through `proposer` when given (the Raft
 * driver then calls applyCommitted), standalone otherwise. `origin` must be unique among the stores
 * sharing one log (a random UUID by default).
 */
export function createMemoryStore(opts: { proposer?: Proposer; now: () => string; origin?: string }): ReplicatedStore {
  if (!opts.proposer) return createStandaloneStore(opts);
  return new ReplicatedStore({ proposer: opts.proposer, now: opts.now, origin: opts.origin ?? randomUUID() });
}
