// Three real KV member processes on 127.0.0.1 (real gRPC, real WAL, fsync on). Concurrent clients
// put and get a few keys through every member; the leader is SIGKILLed mid-load and restarted; more
// load follows. The history (requests cut off count as unknown outcomes) must be linearizable, and
// every acknowledged write of a unique key must be readable afterwards from every member. Members
// snapshot every 300 entries, so the kill and the restart meet snapshots too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOperations, kvModel, type KvOperation } from '../../lin/index.js';
import { KvProcessCluster, type KvProcess } from '../../bench/raft/kv-processes.js';
import { b64, getJson, makeAgent, postJson } from '../../bench/raft/kv-http-client.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function findLeader(c: KvProcessCluster, exclude: number[] = [], ms = 15_000): Promise<KvProcess> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const m of c.members) {
      if (exclude.includes(m.id) || m.child === undefined) continue;
      const s = await getJson(m.url, '/status', 500);
      if (s?.role === 'leader') return m;
    }
    await sleep(50);
  }
  throw new Error('no leader found');
}

test('SIGKILL of the leader under load: linearizable history, no acknowledged write lost', async (t) => {
  // Snapshots every 300 entries: several are written (in the background) during the run, the kill
  // may land in the middle of one, and the restarted member comes back from snapshot + WAL.
  const c = new KvProcessCluster(3, ['--snapshot-interval', '300'], 'kv-sigkill');
  const agent = makeAgent(64);
  const history: KvOperation[] = [];
  const ackedUnique: string[] = [];
  let running = true;
  try {
    await c.start();
    const leader = await findLeader(c);
    const keys = ['x', 'y', 'z'];
    const client = async (cid: number): Promise<void> => {
      let target = cid % 3;
      for (let n = 0; running; n++) {
        const m = c.members[target]!;
        const r = Math.random();
        const call = performance.now();
        if (r < 0.25) {
          const key = `u-${cid}-${n}`;
          const rep = await postJson(agent, m.url, '/v3/kv/put', { key: b64(key), value: b64('1') }, 3000);
          if (rep.ok) ackedUnique.push(key);
          else { target = (target + 1) % 3; await sleep(20); }
          continue;
        }
        const key = keys[Math.floor(Math.random() * keys.length)]!;
        if (r < 0.65) {
          const value = `c${cid}-${n}`;
          const rep = await postJson(agent, m.url, '/v3/kv/put', { key: b64(key), value: b64(value) }, 3000);
          const ret = performance.now();
          if (rep.ok) history.push({ clientId: cid, input: { op: 'put', key, value }, output: { type: 'done' }, call, ret });
          else {
            if (rep.outcome === 'unknown') history.push({ clientId: cid, input: { op: 'put', key, value }, output: undefined, call, ret: Infinity, unknown: true });
            target = (target + 1) % 3;
            await sleep(20);
          }
          // A client whose outcome is unknown is a new client from here on (its op may still be pending).
          if (!rep.ok && rep.outcome === 'unknown') cid += 1000;
        } else {
          const rep = await postJson(agent, m.url, '/v3/kv/range', { key: b64(key) }, 3000);
          const ret = performance.now();
          if (rep.ok) {
            const kvs = rep.body.kvs;
            const first = Array.isArray(kvs) ? (kvs[0] as { value?: unknown } | undefined) : undefined;
            const value = typeof first?.value === 'string' ? Buffer.from(first.value, 'base64').toString() : null;
            history.push({ clientId: cid, input: { op: 'get', key }, output: { type: 'value', value }, call, ret });
          } else { target = (target + 1) % 3; await sleep(20); }
        }
      }
    };
    const clients = Array.from({ length: 6 }, (_, i) => client(i));
    await sleep(2000);
    const killedAt = performance.now();
    c.kill(leader.id);
    const next = await findLeader(c, [leader.id]);
    assert.notEqual(next.id, leader.id);
    await sleep(2000);
    const restartedAt = performance.now();
    await c.launch(leader.id);
    await sleep(2500);
    running = false;
    await Promise.all(clients);

    // Writes were acknowledged under the new leader, and again once the old one was back.
    const ackedAfter = (at: number): number => history.filter((o) => o.input.op === 'put' && o.output !== undefined && o.call > at).length;
    assert.ok(ackedAfter(killedAt) > 20, `too few puts acknowledged after the kill (${ackedAfter(killedAt)})`);
    assert.ok(ackedAfter(restartedAt) > 10, `too few puts acknowledged after the restart (${ackedAfter(restartedAt)})`);
    const unknown = history.filter((o) => o.unknown === true).length;
    t.diagnostic(`history: ${history.length} operations on 3 keys (${unknown} with unknown outcome), ${ackedUnique.length} acknowledged unique puts; leader ${leader.id} killed, ${next.id} took over`);

    const puts = history.filter((o) => o.input.op === 'put');
    assert.ok(puts.filter((o) => o.output !== undefined).length > 50, `too few acknowledged puts (${puts.length})`);
    assert.ok(ackedUnique.length > 20, `too few acknowledged unique puts (${ackedUnique.length})`);
    const res = checkOperations(kvModel(), history, { timeoutMs: 60_000 });
    assert.deepEqual(res, { ok: true, result: 'linearizable' }, JSON.stringify(res));

    // Every acknowledged unique write is on every member (linearizable reads through each).
    await findLeader(c);
    for (const m of c.members) {
      const missing: string[] = [];
      for (const key of ackedUnique) {
        let rep = await postJson(agent, m.url, '/v3/kv/range', { key: b64(key) }, 5000);
        for (let i = 0; !rep.ok && i < 50; i++) { await sleep(100); rep = await postJson(agent, m.url, '/v3/kv/range', { key: b64(key) }, 5000); }
        if (!rep.ok || !Array.isArray(rep.body.kvs)) missing.push(key);
      }
      assert.deepEqual(missing, [], `member ${m.id} lacks acknowledged writes`);
    }
  } finally {
    running = false;
    agent.destroy();
    await c.destroy();
  }
});
