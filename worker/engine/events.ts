/**
 * Engine events in Docker's `/events` shape, and the bus that keeps a bounded history of them
 * (for `since`/`until` replay) and hands them to live subscribers through Docker's filters.
 */

export type EventType = 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'plugin' | 'service' | 'node' | 'secret' | 'config';

/** One event exactly as `GET /events` sends it. */
export interface EngineEvent {
  /** legacy fields (containers and images only) */
  status?: string;
  id?: string;
  from?: string;
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local' | 'swarm';
  /** unix seconds */
  time: number;
  /** unix nanoseconds */
  timeNano: number;
}

/** What a producer supplies; the bus stamps the time and the legacy fields. */
export interface EventInput {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  scope?: 'local' | 'swarm';
}

/** Docker's event filters: key → accepted values (values of one key are OR-ed, keys AND-ed). */
export type EventFilters = ReadonlyMap<string, readonly string[]>;

export const EVENT_FILTER_KEYS = ['type', 'event', 'container', 'image', 'volume', 'network', 'label', 'daemon', 'scope', 'plugin', 'service', 'node', 'secret', 'config'] as const;

export interface EventQuery {
  /** unix nanoseconds, inclusive */
  sinceNano?: bigint;
  /** unix nanoseconds, inclusive; the stream ends when it is reached */
  untilNano?: bigint;
  filters?: EventFilters;
}

/** Parses Docker's `since`/`until` values: unix seconds with an optional fraction, or an RFC 3339 time. */
export function parseEventTime(value: string): bigint | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (m) return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n;
}

function matchesAny(values: readonly string[] | undefined, candidates: (string | undefined)[]): boolean {
  if (!values || values.length === 0) return true;
  return values.some((v) => candidates.some((c) => c !== undefined && c !== '' && (c === v || (v.length >= 4 && c.startsWith(v) && /^[0-9a-f]+$/.test(c)))));
}

/** True when `e` passes every filter key (Docker semantics). */
export function eventMatches(e: EngineEvent, filters: EventFilters | undefined): boolean {
  if (!filters) return true;
  const attrs = e.Actor.Attributes;
  const typed = (t: EventType, key: string, extra: (string | undefined)[] = []): boolean => {
    const vs = filters.get(key);
    if (!vs || vs.length === 0) return true;
    return e.Type === t && matchesAny(vs, [e.Actor.ID, attrs['name'], ...extra]);
  };
  const types = filters.get('type');
  if (types && types.length > 0 && !types.includes(e.Type)) return false;
  const actions = filters.get('event');
  if (actions && actions.length > 0 && !actions.some((a) => e.Action === a || e.Action.startsWith(`${a}:`))) return false;
  const scopes = filters.get('scope');
  if (scopes && scopes.length > 0 && !scopes.includes(e.scope)) return false;
  if (!typed('container', 'container')) return false;
  const images = filters.get('image');
  if (images && images.length > 0 && !matchesAny(images, [attrs['image'], e.Type === 'image' ? e.Actor.ID : undefined, e.Type === 'image' ? attrs['name'] : undefined, e.from])) return false;
  if (!typed('volume', 'volume')) return false;
  if (!typed('network', 'network')) return false;
  if (!typed('daemon', 'daemon')) return false;
  for (const k of ['plugin', 'service', 'node', 'secret', 'config'] as const) if (!typed(k, k)) return false;
  const labels = filters.get('label');
  if (labels && labels.length > 0) {
    const ok = labels.every((l) => {
      const i = l.indexOf('=');
      return i < 0 ? l in attrs : attrs[l.slice(0, i)] === l.slice(i + 1);
    });
    if (!ok) return false;
  }
  return true;
}

export interface EventBusOptions {
  /** how many past events are kept for replay (default 1024, as Docker) */
  capacity?: number;
  /** clock in unix nanoseconds (tests inject one) */
  nowNano?: () => bigint;
}

type Listener = (e: EngineEvent) => void;

export class EventBus {
  private readonly capacity: number;
  private readonly nowNano: () => bigint;
  private readonly history: EngineEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private lastNano = 0n;
  private closed = false;

  constructor(opts: EventBusOptions = {}) {
    this.capacity = Math.max(1, opts.capacity ?? 1024);
    this.nowNano = opts.nowNano ?? (() => BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n);
  }

  /** Stamps, records and delivers one event; returns what was recorded. */
  publish(input: EventInput): EngineEvent {
    // microsecond steps: timeNano travels as a JSON number (exact to 256 ns at today's dates)
    let t = (this.nowNano() / 1000n) * 1000n;
    if (t <= this.lastNano) t = this.lastNano + 1000n;
    this.lastNano = t;
    const attrs = { ...(input.Actor.Attributes ?? {}) };
    const e: EngineEvent = {
      Type: input.Type,
      Action: input.Action,
      Actor: { ID: input.Actor.ID, Attributes: attrs },
      scope: input.scope ?? 'local',
      time: Number(t / 1_000_000_000n),
      timeNano: Number(t),
    };
    if (input.Type === 'container' || input.Type === 'image') {
      const legacy: EngineEvent = { status: input.Action, id: input.Actor.ID, ...(attrs['image'] !== undefined ? { from: attrs['image'] } : {}), ...e };
      Object.assign(e, legacy);
    }
    this.history.push(e);
    if (this.history.length > this.capacity) this.history.splice(0, this.history.length - this.capacity);
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        // a broken subscriber must not stop the others
      }
    }
    return e;
  }

  /** Past events matching the query, oldest first. */
  replay(q: EventQuery): EngineEvent[] {
    return this.history.filter((e) => inWindow(e, q) && eventMatches(e, q.filters));
  }

  /** Calls `onEvent` for each new matching event until the returned function is called. */
  subscribe(q: EventQuery, onEvent: Listener): () => void {
    const l: Listener = (e) => {
      if (inWindow(e, q) && eventMatches(e, q.filters)) onEvent(e);
    };
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  }

  /**
   * History then live events matching the query. Ends when `untilNano` has passed (checked on each
   * event and by a timer), when `signal` aborts, or when the bus closes.
   */
  async *stream(q: EventQuery, signal?: AbortSignal): AsyncGenerator<EngineEvent> {
    const queue: EngineEvent[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    const end = (): void => {
      ended = true;
      wake?.();
    };
    const unsubscribe = this.subscribe(q, (e) => {
      queue.push(e);
      wake?.();
    });
    const closeListener = (): void => end();
    this.closeWaiters.add(closeListener);
    signal?.addEventListener('abort', end, { once: true });
    let timer: NodeJS.Timeout | undefined;
    if (q.untilNano !== undefined) {
      const ms = Number((q.untilNano - this.nowNano()) / 1_000_000n);
      timer = setTimeout(end, Math.max(0, Math.min(ms + 1, 2 ** 31 - 1)));
    }
    try {
      const seen = new Set<EngineEvent>();
      for (const e of this.replay(q)) {
        seen.add(e);
        yield e;
      }
      if (this.closed || signal?.aborted) return;
      for (;;) {
        while (queue.length > 0) {
          const e = queue.shift()!;
          if (!seen.has(e)) yield e;
        }
        seen.clear();
        if (ended) return;
        await new Promise<void>((r) => {
          wake = r;
        });
        wake = undefined;
      }
    } finally {
      if (timer) clearTimeout(timer);
      unsubscribe();
      this.closeWaiters.delete(closeListener);
      signal?.removeEventListener('abort', end);
    }
  }

  private readonly closeWaiters = new Set<() => void>();

  /** Ends every open stream. */
  close(): void {
    this.closed = true;
    for (const w of [...this.closeWaiters]) w();
    this.listeners.clear();
  }

  /** Current time on the bus clock (unix nanoseconds). */
  now(): bigint {
    return this.nowNano();
  }
}

function inWindow(e: EngineEvent, q: EventQuery): boolean {
  const t = BigInt(e.timeNano);
  if (q.sinceNano !== undefined && t < q.sinceNano) return false;
  if (q.untilNano !== undefined && t > q.untilNano) return false;
  return true;
}
