// Building messages with every field set (the wire codec and tests rely on complete objects).

import { MessageType, NONE, type Message } from './types.js';

const EMPTY = new Uint8Array(0);

export function newMessage(m: Partial<Message> & { type: MessageType }): Message {
  const out: Message = {
    type: m.type,
    to: m.to ?? NONE,
    from: m.from ?? NONE,
    term: m.term ?? 0,
    logTerm: m.logTerm ?? 0,
    index: m.index ?? 0,
    entries: m.entries ?? [],
    commit: m.commit ?? 0,
    reject: m.reject ?? false,
    rejectHint: m.rejectHint ?? 0,
    context: m.context ?? EMPTY,
  };
  if (m.snapshot) out.snapshot = m.snapshot;
  return out;
}

/** Response types whose sender must be a known member (others are dropped by RawNode.step). */
export function isResponseMessage(t: MessageType): boolean {
  return t === MessageType.AppResp || t === MessageType.VoteResp || t === MessageType.HeartbeatResp ||
    t === MessageType.Unreachable || t === MessageType.PreVoteResp;
}

export function voteRespType(t: MessageType): MessageType {
  if (t === MessageType.Vote) return MessageType.VoteResp;
  if (t === MessageType.PreVote) return MessageType.PreVoteResp;
  throw new Error(`not a vote message: ${t}`);
}

/** 'CampaignTransfer' in ASCII: the context of votes caused by a leader transfer (bypasses the lease). */
export const CAMPAIGN_TRANSFER = Uint8Array.of(0x43, 0x61, 0x6d, 0x70, 0x61, 0x69, 0x67, 0x6e, 0x54, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72);

export function isCampaignTransfer(ctx: Uint8Array): boolean {
  if (ctx.length !== CAMPAIGN_TRANSFER.length) return false;
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== CAMPAIGN_TRANSFER[i]) return false;
  return true;
}
