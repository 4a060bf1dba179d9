/** A build failure with the HTTP status it maps to before the stream starts (bad input 4xx, ours 500). */
export class BuildError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 500,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BuildError';
  }
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
