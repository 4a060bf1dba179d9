/** Which ports are bound in the host netns (from /proc/net/{tcp,udp}[6]), so ephemeral choices avoid them. */
import { readFile } from 'node:fs/promises';
import type { HostExec } from './exec.js';
import type { PortProto } from './port-allocator.js';

export function parseProcNet(text: string, listenOnly: boolean): number[] {
  const out: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    const port = parseInt(cols[1]!.split(':')[1] ?? '', 16);
    if (!Number.isFinite(port)) continue;
    if (listenOnly && cols[3] !== '0A') continue;
    out.push(port);
  }
  return out;
}

export async function boundPorts(host: HostExec, proto: PortProto): Promise<Set<number>> {
  if (proto === 'sctp') return new Set();
  const files = [`/proc/net/${proto}`, `/proc/net/${proto}6`];
  const set = new Set<number>();
  for (const f of files) {
    let text = '';
    try {
      text = host.netnsPath ? await host.run(['cat', f]) : await readFile(f, 'utf8');
    } catch {
      continue;
    }
    for (const p of parseProcNet(text, proto === 'tcp')) set.add(p);
  }
  return set;
}
