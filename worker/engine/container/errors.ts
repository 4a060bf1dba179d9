/** Errors of the container engine: a Docker-style HTTP status plus a clear message. */
export type EngineErrorStatus = 400 | 404 | 409 | 500;

export class EngineError extends Error {
  readonly status: EngineErrorStatus;
  constructor(status: EngineErrorStatus, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.status = status;
  }
}

export const badRequest = (m: string): EngineError => new EngineError(400, m);
export const notFound = (m: string): EngineError => new EngineError(404, m);
export const conflict = (m: string): EngineError => new EngineError(409, m);

/** Any error carrying a 4xx status (EngineError, NetworkError, VolumeError) keeps it; others become 500. */
export function asEngineError(e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  const status = typeof e === 'object' && e !== null && 'status' in e ? (e as { status: unknown }).status : undefined;
  const message = e instanceof Error ? e.message : String(e);
  if (status === 400 || status === 404 || status === 409) return new EngineError(status, message, { cause: e });
  return new EngineError(500, message, { cause: e });
}
