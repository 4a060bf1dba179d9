/**
 * Secrets on a real swarm (shoald processes on loopback, formed with the docker CLI): a secret created
 * through a follower, used by a service; every manager can open the secrets key (after the leader is
 * killed the new leader re-seals the same data identically and creates new secrets); the secret's
 * bytes are in no file under any host's data root — Raft WAL and snapshots included — neither in clear,
 * base64 nor hex; no API answer carries them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SwarmLab, until } from '../cluster/swarm-lab.js';

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

test('a secret reaches no disk in clear on any host; every manager holds the key; the new leader keeps serving it', async () => {
  const lab = await SwarmLab.start(['m1', 'm2', 'm3', 'w1']);
  const plain = `zebra-${process.pid}-${Date.now()}-secret`;
  const needles = [plain, Buffer.from(plain).toString('base64'), Buffer.from(plain).toString('hex')].map((s) => Buffer.from(s));
  try {
    await lab.form('m1', ['m2', 'm3'], ['w1']);
    const [m1, m2, m3] = [lab.host('m1'), lab.host('m2'), lab.host('m3')];
    const created = await m2.docker(['secret', 'create', 'dbpass', '-'], { input: plain });
    assert.equal(created.code, 0, created.stderr);
    const secretId = created.stdout.trim();
    assert.match(secretId, /^[0-9a-z]{25}$/);
    const svc = (await m3.dockerOk(['service', 'create', '--detach', '--no-resolve-image', '--name', 'app', '--replicas', '2', '--secret', 'dbpass', 'busybox:1.36', 'sleep', '1d'])).trim();
    await until('2 tasks running', async () => {
      const r = await m1.api<{ Status: { State: string } }[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [svc] }))}`);
      return r.json.filter((t) => t.Status.State === 'running').length === 2;
    }, 60_000);
    for (const h of [m1, m2, m3]) {
      const r = await h.api('GET', '/secrets/dbpass');
      assert.equal(r.status, 200);
      for (const n of needles) assert.ok(!r.text.includes(n.toString()), `GET /secrets on ${h.name} carries no data`);
      const sw = await h.api('GET', '/swarm');
      for (const n of needles) assert.ok(!sw.text.includes(n.toString()));
    }

    // kill the leader: a new one must hold the key (same data re-seals identically, new secrets seal)
    await m1.stop('SIGKILL');
    const next = await until('a new leader', async () => {
      for (const h of [m2, m3]) {
        const r = await h.api<{ ManagerStatus?: { Leader?: boolean }; Description: { Hostname: string } }[]>('GET', '/nodes');
        const leader = r.status === 200 ? r.json.find((n) => n.ManagerStatus?.Leader && n.Description.Hostname !== 'm1') : undefined;
        if (leader) return leader.Description.Hostname === 'm2' ? m2 : m3;
      }
      return undefined;
    }, 60_000);
    const cur = await next.api<{ Version: { Index: number } }>('GET', `/secrets/${secretId}`);
    const upd = await next.api('POST', `/secrets/${secretId}/update?version=${cur.json.Version.Index}`, { Name: 'dbpass', Labels: { rotated: 'no' }, Data: Buffer.from(plain).toString('base64') });
    assert.equal(upd.status, 200, `the new leader re-seals the same data identically: ${upd.text}\n${lab.logs()}`);
    const other = await next.api('POST', `/secrets/${secretId}/update?version=${cur.json.Version.Index + 1000}`, { Name: 'dbpass', Data: Buffer.from('different').toString('base64') });
    assert.ok(other.status === 400 || other.status === 409);
    const s2 = await next.docker(['secret', 'create', 'second', '-'], { input: `${plain}-2` });
    assert.equal(s2.code, 0, s2.stderr);

    // nothing in clear on any disk: stop every daemon (files closed), then grep every file
    for (const h of lab.hosts) await h.stop();
    let scanned = 0;
    for (const h of lab.hosts) {
      for (const f of filesUnder(h.dataRoot)) {
        if (statSync(f).size > 256 * 2 ** 20) continue;
        const data = readFileSync(f);
        scanned++;
        for (const n of needles) assert.ok(!data.includes(n), `${f} holds the secret (${n.toString().slice(0, 12)}…)`);
      }
    }
    assert.ok(scanned > 10, `scanned ${scanned} files`);
    assert.ok(filesUnder(m2.dataRoot).some((f) => f.includes('raft')), 'the Raft WAL was among them');
  } finally {
    const left = await lab.cleanup();
    assert.deepEqual(left, []);
  }
});
