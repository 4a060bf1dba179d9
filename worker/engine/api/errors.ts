/**
 * The REST API's errors: an HTTP status from Docker's set plus a message, sent as `{"message": …}`.
 * Errors of the engine's stores (E1–E3) carry a numeric `status`; they map one to one.
 */

export type ApiStatus = 400 | 401 | 403 | 404 | 409 | 500 | 501 | 503;

export class ApiError extends Error {
  readonly status: ApiStatus;
  constructor(status: ApiStatus, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApiError';
    this.status = status;
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, message);
export const notFound = (message: string): ApiError => new ApiError(404, message);
export const conflict = (message: string): ApiError => new ApiError(409, message);
export const notImplemented = (what: string): ApiError => new ApiError(501, `${what} is not available in this engine build`);

const KNOWN: readonly number[] = [400, 401, 403, 404, 409, 500, 501, 503];

/** Any thrown value → an ApiError (a `status` of 4xx/5xx on the value is kept; anything else is a 500). */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof Error) {
    const raw = (e as { status?: unknown; statusCode?: unknown }).status ?? (e as { statusCode?: unknown }).statusCode;
    const status = typeof raw === 'number' && KNOWN.includes(raw) ? (raw as ApiStatus) : typeof raw === 'number' && raw >= 400 && raw < 500 ? 400 : 500;
    return new ApiError(status, e.message || String(e), { cause: e });
  }
  return new ApiError(500, typeof e === 'string' ? e : 'internal error');
}

/** The body Docker sends with an error. */
export function errorBody(e: ApiError): { message: string } {
  return { message: e.message };
}
