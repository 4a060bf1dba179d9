/** Failures of the dispatcher, as values with a code the gRPC shell maps to a status. */
export type DispatchErrorCode = 'not-leader' | 'permission-denied' | 'session-invalid' | 'invalid' | 'unavailable';

export class DispatchError extends Error {
  constructor(
    readonly code: DispatchErrorCode,
    message: string,
    /** for not-leader: where the leader is, when known */
    readonly leaderAddr?: string,
  ) {
    super(message);
    this.name = 'DispatchError';
  }
}
