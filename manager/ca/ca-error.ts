/**
 * A refusal by the certificate authority, with the HTTP-like status the transport maps to its own
 * code: 400 malformed input, 401 no valid credential (bad join token), 403 refused (removed node,
 * role not allowed), 500 the CA itself failed.
 */
export type CaStatus = 400 | 401 | 403 | 500;

export class CertificateAuthorityError extends Error {
  override readonly name: string = 'CertificateAuthorityError';
  constructor(
    readonly status: CaStatus,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Which part of a join token is wrong. */
export type JoinTokenPart = 'prefix' | 'version' | 'parts' | 'digest' | 'secret';

export class InvalidJoinTokenError extends CertificateAuthorityError {
  override readonly name = 'InvalidJoinTokenError';
  constructor(
    readonly part: JoinTokenPart,
    detail: string,
  ) {
    super(400, `invalid join token: ${detail}`);
  }
}
