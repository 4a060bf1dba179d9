/** Errors of the network manager: a Docker-style HTTP status plus a clear message. */
export type NetworkErrorStatus = 400 | 403 | 404 | 409 | 500;

export class NetworkError extends Error {
  readonly status: NetworkErrorStatus;
  constructor(status: NetworkErrorStatus, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetworkError';
    this.status = status;
  }
}

export function notFound(what: string): NetworkError {
  return new NetworkError(404, what);
}

export function conflict(what: string): NetworkError {
  return new NetworkError(409, what);
}

export function badRequest(what: string): NetworkError {
  return new NetworkError(400, what);
}
