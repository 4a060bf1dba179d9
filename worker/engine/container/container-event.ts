/** Docker's event object for a container action. */
import type { ContainerEvent, ContainerRecord } from './types.js';

export function containerEvent(action: string, r: ContainerRecord, extra: Record<string, string> = {}, now = Date.now()): ContainerEvent {
  return {
    Type: 'container',
    Action: action,
    Actor: { ID: r.id, Attributes: { ...(r.config.Labels ?? {}), image: r.imageRef, name: r.name, ...extra } },
    scope: 'local',
    time: Math.floor(now / 1000),
    timeNano: now * 1_000_000,
    status: action,
    id: r.id,
    from: r.imageRef,
  };
}
