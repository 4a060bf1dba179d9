/**
 * Errors of the control REST API (swarm, nodes): an HTTP status and Docker's message, and the mapping
 * of store and Raft failures to them. A write that cannot commit because the managers lost their
 * quorum answers 503 with Docker's "does not have a leader" message.
 */
import { isStoreError, StoreError } from '../store/index.js';

export const NO_LEADER =
  "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.";

export class ControlError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 500 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

export const badRequest = (m: string): ControlError => new ControlError(400, m);
export const notFound = (m: string): ControlError => new ControlError(404, m);

/** Any thrown value as a ControlError. */
export function toControlError(e: unknown): ControlError {
  if (e instanceof ControlError) return e;
  const status = (e as { status?: unknown })?.status;
  if (typeof status === 'number' && [400, 403, 404, 409, 503].includes(status)) return new ControlError(status as 400, (e as Error).message);
  if (isStoreError(e)) return storeError(e);
  return new ControlError(500, e instanceof Error ? e.message : String(e));
}

function storeError(e: StoreError): ControlError {
  switch (e.code) {
    case 'not-found':
      return new ControlError(404, e.message);
    case 'exists':
    case 'name-conflict':
      return new ControlError(409, `rpc error: code = AlreadyExists desc = ${e.message}`);
    case 'out-of-sequence':
      return new ControlError(409, 'rpc error: code = Unknown desc = update out of sequence');
    case 'ambiguous':
    case 'invalid':
    case 'too-large':
      return new ControlError(400, e.message);
    case 'not-leader':
    case 'proposal-failed':
    case 'outcome-unknown':
      return new ControlError(503, `${NO_LEADER} (${e.message})`);
    default:
      return new ControlError(500, e.message);
  }
}
