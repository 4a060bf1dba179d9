// The driver's framing inside Raft entries and snapshots.
//  - Normal entry data: 13-byte header (kind=1, node u32, epoch u32, seq u32) + the application's
//    payload, so a proposer recognises its own entry when it is applied. Empty data = the leader's no-op.
//  - Conf change context: JSON {"address": "host:port"} of the member being added.
//  - Snapshot data: JSON header line with the member addresses, then the application's bytes.
import type { NodeId } from './core/types.js';

export class EnvelopeError extends Error {
  constructor(message: string) { super(message); this.name = 'EnvelopeError'; }
}

export interface ProposalId { node: NodeId; epoch: number; seq: number }

const HEADER = 13;
const KIND_APP = 1;

export function wrapProposal(id: ProposalId, payload: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(HEADER + payload.length); // from the shared pool: no ArrayBuffer each
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = KIND_APP;
  dv.setUint32(1, id.node);
  dv.setUint32(5, id.epoch);
  dv.setUint32(9, id.seq);
  out.set(payload, HEADER);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

export function unwrapProposal(data: Uint8Array): { id: ProposalId; payload: Uint8Array } | undefined {
  if (data.length === 0) return undefined;
  if (data.length < HEADER || data[0] !== KIND_APP) throw new EnvelopeError(`entry data of ${data.length} bytes has no proposal header`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { id: { node: dv.getUint32(1), epoch: dv.getUint32(5), seq: dv.getUint32(9) }, payload: data.subarray(HEADER) };
}

export function encodeMemberContext(address: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ address }));
}

export function decodeMemberContext(b: Uint8Array): string | undefined {
  if (b.length === 0) return undefined;
  let v: unknown;
  try { v = JSON.parse(new TextDecoder().decode(b)); } catch { return undefined; }
  if (typeof v === 'object' && v !== null && typeof (v as { address?: unknown }).address === 'string') return (v as { address: string }).address;
  return undefined;
}

export function wrapSnapshot(members: ReadonlyMap<NodeId, string>, app: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(JSON.stringify({ members: [...members] }) + '\n');
  const out = Buffer.allocUnsafe(head.length + app.length); // every byte is written below: no zero-fill
  out.set(head, 0);
  out.set(app, head.length);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

export function unwrapSnapshot(data: Uint8Array): { members: Map<NodeId, string>; app: Uint8Array } {
  if (data.length === 0) return { members: new Map(), app: data };
  const nl = data.indexOf(10);
  if (nl < 0) throw new EnvelopeError('snapshot data has no member header');
  let v: unknown;
  try { v = JSON.parse(new TextDecoder().decode(data.subarray(0, nl))); } catch (e) {
    throw new EnvelopeError(`snapshot member header is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const list = typeof v === 'object' && v !== null ? (v as { members?: unknown }).members : undefined;
  if (!Array.isArray(list)) throw new EnvelopeError('snapshot member header has no members list');
  const members = new Map<NodeId, string>();
  for (const pair of list) {
    if (!Array.isArray(pair) || !Number.isSafeInteger(pair[0]) || typeof pair[1] !== 'string') throw new EnvelopeError('bad member in snapshot header');
    members.set(pair[0] as number, pair[1] as string);
  }
  return { members, app: data.subarray(nl + 1) };
}
