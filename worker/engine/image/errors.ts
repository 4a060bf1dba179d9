/** Errors of the image store: a Docker-style HTTP status plus a clear message. */
export type ImageErrorStatus = 400 | 404 | 409 | 500;

export class ImageError extends Error {
  readonly status: ImageErrorStatus;
  constructor(status: ImageErrorStatus, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageError';
    this.status = status;
  }
}

export const badImageInput = (what: string, cause?: unknown): ImageError => new ImageError(400, what, cause === undefined ? undefined : { cause });
export const imageNotFound = (what: string): ImageError => new ImageError(404, what);
export const imageConflict = (what: string): ImageError => new ImageError(409, what);

/** The message of anything thrown, for wrapping into a clearer error. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
