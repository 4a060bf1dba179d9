/** Paths with and without Docker's `/vX.Y` prefix reach the same routes. */

export const API_VERSION = '1.45';
export const MIN_API_VERSION = '1.24';

/** Headers every engine response carries (as Docker's). */
export const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'Api-Version': API_VERSION,
  'Docker-Experimental': 'false',
  Ostype: 'linux',
  Server: `shoal/${API_VERSION} (linux)`,
};

const PREFIX = /^\/v(\d+)\.(\d+)(?=\/)/;

/** Strips a `/vX.Y` prefix; the requested version is returned alongside (undefined when absent). */
export function stripVersion(url: string): { url: string; version?: string } {
  const m = PREFIX.exec(url);
  if (!m) return { url };
  return { url: url.slice(m[0].length), version: `${m[1]}.${m[2]}` };
}

/** Compares "1.41" style versions. */
export function compareVersions(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return (a1! - b1!) || (a2! - b2!);
}
