// A closed-loop put load: `clients` workers, each sending one put at a time (8-byte sequential keys,
// 256-byte values) over a shared keep-alive agent, for `seconds`; returns puts/s and latency quantiles.
import { randomBytes } from 'node:crypto';
import { b64, makeAgent, postJson } from './kv-http-client.js';

export interface LoadResult { clients: number; puts: number; errors: number; seconds: number; putsPerSec: number; p50Ms: number; p99Ms: number }

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function runPutLoad(url: string, clients: number, seconds: number, warmupPerClient = 20): Promise<LoadResult> {
  const agent = makeAgent(clients);
  const value = b64(randomBytes(256));
  let seq = 0;
  const key = (): string => b64(String(seq++ % 100_000_000).padStart(8, '0'));
  try {
    await Promise.all(Array.from({ length: clients }, async () => {
      for (let i = 0; i < warmupPerClient; i++) await postJson(agent, url, '/v3/kv/put', { key: key(), value }, 5000);
    }));
    const lat: number[] = [];
    let errors = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const r = await postJson(agent, url, '/v3/kv/put', { key: key(), value }, 5000);
        const t1 = performance.now();
        if (r.ok) lat.push(t1 - t0);
        else errors++;
      }
    }));
    const elapsed = (performance.now() - start) / 1000;
    lat.sort((a, b) => a - b);
    return { clients, puts: lat.length, errors, seconds: elapsed, putsPerSec: lat.length / elapsed, p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99) };
  } finally {
    agent.destroy();
  }
}

/**
 * Failover: `clients` workers put to `urls[0]` (the leader); `kill()` runs after `beforeKillMs`;
 * a worker whose request fails moves on to the next URL. Returns the time from the kill to the first
 * put acknowledged that was sent after the kill.
 */
export async function measureFailover(urls: string[], clients: number, beforeKillMs: number, kill: () => void, maxMs = 15_000): Promise<number> {
  const agent = makeAgent(clients);
  const value = b64(randomBytes(256));
  let seq = 0;
  let killedAt = Infinity;
  let firstAck = Infinity;
  let stop = false;
  try {
    const workers = Array.from({ length: clients }, async (_, w) => {
      let target = 0;
      while (!stop) {
        const t0 = performance.now();
        const r = await postJson(agent, urls[target]!, '/v3/kv/put', { key: b64(`f${String(seq++).padStart(7, '0')}`), value }, 1000);
        const t1 = performance.now();
        if (r.ok) {
          if (t0 > killedAt && t1 < firstAck) { firstAck = t1; stop = true; }
        } else {
          target = 1 + ((target + w) % (urls.length - 1));
          // A short pause before the retry, as a real client makes: 16 workers spinning on instant
          // "no leader" answers would take the CPU the election needs.
          await new Promise((res) => setTimeout(res, 10));
        }
        if (performance.now() - killedAt > maxMs) stop = true;
      }
    });
    await new Promise((r) => setTimeout(r, beforeKillMs));
    killedAt = performance.now();
    kill();
    await Promise.all(workers);
    return firstAck - killedAt;
  } finally {
    agent.destroy();
  }
}
