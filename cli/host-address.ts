/** `-H`/`--host` values: only `unix://<path>` (or a bare absolute path) for now. */

export const DEFAULT_HOST = 'unix:///run/shoal/shoal.sock';

export class HostAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostAddressError';
  }
}

export function socketPathOf(host: string): string {
  if (host.startsWith('unix://')) {
    const p = host.slice('unix://'.length);
    if (!p.startsWith('/')) throw new HostAddressError(`bad host ${host}: expected unix:///absolute/path`);
    return p;
  }
  if (host.startsWith('/')) return host;
  throw new HostAddressError(`unsupported host ${host}: only unix:///path sockets are supported`);
}
