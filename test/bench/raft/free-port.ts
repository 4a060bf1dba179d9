// Free TCP ports on 127.0.0.1: bind port 0, read it, close. Distinct within one call.
import { createServer } from 'node:net';

export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        const p = typeof a === 'object' && a !== null ? a.port : 0;
        s.close(() => resolve(p));
      });
    });
    out.add(port);
  }
  return [...out];
}
