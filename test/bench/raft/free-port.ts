// Free TCP ports on 127.0.0.1 for member processes that may be killed and restarted on the same
// port. They are picked below the kernel's ephemeral range (32768–60999 here), where an outgoing
// connection can never take a port while its member is down; each is checked by binding it.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

function ephemeralLow(): number {
  try {
    const [lo] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return lo !== undefined && Number.isInteger(lo) && lo > 12000 ? lo : 32768;
  } catch {
    return 32768;
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

const handedOut = new Set<number>();

export async function freePorts(n: number): Promise<number[]> {
  const hi = ephemeralLow();
  const lo = 10000;
  const out: number[] = [];
  for (let tries = 0; out.length < n; tries++) {
    if (tries > 10_000) throw new Error(`no free port found in ${lo}–${hi - 1}`);
    const port = lo + Math.floor(Math.random() * (hi - lo));
    if (handedOut.has(port) || !(await canBind(port))) continue;
    handedOut.add(port);
    out.push(port);
  }
  return out;
}
