// Deterministic binary form of ConfChangeV2, carried as the data of conf-change entries.
//   empty input             -> the empty change (leave the joint configuration)
//   'C' 0x01 transition:u8 count:u32 { type:u8 nodeId:f64 }* contextLen:u32 context
// Integers are big-endian; node IDs are non-negative safe integers.

import { ConfChangeTransition, ConfChangeType, type ConfChangeSingle, type ConfChangeV2 } from './types.js';

export class ConfChangeCodecError extends Error {
  constructor(message: string) { super(`conf change codec: ${message}`); this.name = 'ConfChangeCodecError'; }
}

const MAGIC = 0x43;
const VERSION = 1;

export function encodeConfChange(cc: ConfChangeV2): Uint8Array {
  const size = 2 + 1 + 4 + cc.changes.length * 9 + 4 + cc.context.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let o = 0;
  out[o++] = MAGIC;
  out[o++] = VERSION;
  out[o++] = cc.transition;
  dv.setUint32(o, cc.changes.length); o += 4;
  for (const c of cc.changes) {
    if (!Number.isSafeInteger(c.nodeId) || c.nodeId < 0) throw new ConfChangeCodecError(`invalid node id ${c.nodeId}`);
    out[o++] = c.type;
    dv.setFloat64(o, c.nodeId); o += 8;
  }
  dv.setUint32(o, cc.context.length); o += 4;
  out.set(cc.context, o);
  return out;
}

const TYPES = new Set<number>(Object.values(ConfChangeType));
const TRANSITIONS = new Set<number>(Object.values(ConfChangeTransition));

export function decodeConfChange(b: Uint8Array): ConfChangeV2 {
  if (b.length === 0) return { transition: ConfChangeTransition.Auto, changes: [], context: new Uint8Array(0) };
  if (b.length < 11) throw new ConfChangeCodecError(`truncated (${b.length} bytes)`);
  if (b[0] !== MAGIC || b[1] !== VERSION) throw new ConfChangeCodecError('bad magic or version');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const transition = b[2] as number;
  if (!TRANSITIONS.has(transition)) throw new ConfChangeCodecError(`unknown transition ${transition}`);
  const count = dv.getUint32(3);
  let o = 7;
  if (b.length < o + count * 9 + 4) throw new ConfChangeCodecError('truncated changes');
  const changes: ConfChangeSingle[] = [];
  for (let i = 0; i < count; i++) {
    const type = b[o++] as number;
    if (!TYPES.has(type)) throw new ConfChangeCodecError(`unknown change type ${type}`);
    const nodeId = dv.getFloat64(o); o += 8;
    if (!Number.isSafeInteger(nodeId) || nodeId < 0) throw new ConfChangeCodecError(`invalid node id ${nodeId}`);
    changes.push({ type: type as ConfChangeType, nodeId });
  }
  const len = dv.getUint32(o); o += 4;
  if (o + len !== b.length) throw new ConfChangeCodecError('context length does not match the input');
  return { transition: transition as ConfChangeTransition, changes, context: b.slice(o, o + len) };
}

/** True for the empty change that leaves a joint configuration. */
export function isLeaveJoint(cc: ConfChangeV2): boolean {
  return cc.transition === ConfChangeTransition.Auto && cc.changes.length === 0;
}

/** Whether applying `cc` enters a joint configuration, and with which autoLeave. */
export function entersJoint(cc: ConfChangeV2): { joint: boolean; autoLeave: boolean } {
  if (cc.transition !== ConfChangeTransition.Auto || cc.changes.length > 1) {
    return { joint: true, autoLeave: cc.transition !== ConfChangeTransition.JointExplicit };
  }
  return { joint: false, autoLeave: false };
}
