/**
 * Autolock on real shoald processes (loopback, simulated tasks), driven by the real docker CLI and the
 * shoal CLI: `swarm init --autolock` prints the unlock key and every manager's TLS key goes to disk
 * encrypted under it; a restarted manager is `locked` — /info says so, control calls answer Docker's
 * message, a wrong key is refused and it stays locked, the key file holds no clear key (nor the Raft log
 * the CA key or a join token) — until the right key unlocks it and the swarm works again (nodes,
 * services, secrets); `unlock-key --rotate`
 * re-encrypts every manager's key under the new key (the old one no longer unlocks); autolock turned
 * off writes the keys in clear and a restart needs no key; a demoted manager's key is in clear, and
 * locked again when it is promoted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decryptKeyPem, isEncryptedKeyPem, keyMatchesCertificate, parseUnlockKey } from '../../../manager/ca/kek.js';
import { run } from '../../e2e/engine/shoald-harness.js';
import { SwarmLab, type SwarmHost, until } from '../cluster/swarm-lab.js';

const LOCKED = 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.';
const WRONG = 'swarm could not be unlocked: invalid key provided';

const keyFile = (h: SwarmHost): string => readFileSync(join(h.dataRoot, 'swarm', 'certificates', 'swarm-node.key'), 'utf8');
const certFile = (h: SwarmHost): string => readFileSync(join(h.dataRoot, 'swarm', 'certificates', 'swarm-node.crt'), 'utf8');
const pemBody = (pem: string): string => pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, '');

/** The key file is encrypted, opens with `key` to the certificate's key, and holds no clear key. */
function assertLockedUnder(h: SwarmHost, key: string): void {
  const file = keyFile(h);
  assert.ok(isEncryptedKeyPem(file), `${h.name}: the key file is encrypted`);
  assert.ok(!/BEGIN (EC )?PRIVATE KEY/.test(file), `${h.name}: no clear PEM in the key file`);
  const clear = decryptKeyPem(file, parseUnlockKey(key), certFile(h));
  assert.ok(keyMatchesCertificate(clear, certFile(h)));
  assert.ok(!file.replace(/\s/g, '').includes(pemBody(clear)), `${h.name}: the clear key's bytes are not in the file`);
}

/** assertLockedUnder once the node's writes settle (a manager going from clear to locked renews its certificate). */
async function lockedUnder(h: SwarmHost, key: string): Promise<void> {
  await until(`${h.name}: key file encrypted under ${key.slice(0, 14)}… with its certificate`, async () => {
    try {
      assertLockedUnder(h, key);
      return true;
    } catch {
      return false;
    }
  }, 60_000);
  assertLockedUnder(h, key);
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

async function localState(h: SwarmHost): Promise<string> {
  const r = await h.api<{ Swarm: { LocalNodeState: string } }>('GET', '/info');
  return r.json.Swarm.LocalNodeState;
}

test('a locked manager refuses to serve until unlocked with the right key; rotation re-encrypts every manager; autolock off writes keys in clear', async (t) => {
  const lab = await SwarmLab.start(['m1', 'm2', 'w1']);
  const shoal = (h: SwarmHost, args: string[], input?: string) => run(process.execPath, [lab.shoalCli, ...args], { env: h.env, timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  try {
    const [m1, m2, w1] = [lab.host('m1'), lab.host('m2'), lab.host('w1')];
    const init = await m1.dockerOk(['swarm', 'init', '--autolock', '--advertise-addr', m1.ip]);
    const k1 = /\n {4}(SWMKEY-1-\S+)\n\nRemember to store this key in a password manager/.exec(init)?.[1];
    assert.ok(k1, `docker swarm init --autolock prints the unlock key:\n${init}`);
    assert.match(init, /run the `docker swarm unlock`\ncommand and provide the following key:/);
    assert.equal((await m1.dockerOk(['swarm', 'unlock-key', '-q'])).trim(), k1);
    assert.equal((await shoal(m1, ['swarm', 'unlock-key', '-q'])).stdout.trim(), k1, 'shoal swarm unlock-key shows the same key');
    assert.equal((await m1.dockerOk(['info', '--format', '{{.Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers}}'])).trim(), 'true');
    assertLockedUnder(m1, k1);
    assert.ok(!(await m1.api('GET', '/swarm')).text.includes(k1), 'GET /swarm does not show the unlock key');

    const managerToken = (await m1.dockerOk(['swarm', 'join-token', '-q', 'manager'])).trim();
    const workerToken = (await m1.dockerOk(['swarm', 'join-token', '-q', 'worker'])).trim();
    await m2.dockerOk(['swarm', 'join', '--token', managerToken, m1.addr]);
    await w1.dockerOk(['swarm', 'join', '--token', workerToken, m1.addr]);
    // the second manager encrypts its key once it can open the cluster's unlock key
    await lockedUnder(m2, k1);
    assert.ok(!isEncryptedKeyPem(keyFile(w1)), 'a worker\'s key is never locked');
    // the Raft log of a swarm autolocked from init holds no private key and no join token in clear
    for (const h of [m1, m2]) {
      const raft = filesUnder(join(h.dataRoot, 'swarm', 'raft'));
      assert.ok(raft.length > 0, `${h.name} has raft files`);
      for (const f of raft) {
        const bytes = readFileSync(f);
        assert.ok(!bytes.includes('PRIVATE KEY'), `${f}: no clear private key`);
        for (const t of [managerToken, workerToken]) assert.ok(!bytes.includes(t.split('-').pop()!), `${f}: no join token secret`);
      }
    }
    await until('three ready nodes', async () => (await m1.nodeLs()).filter((n) => n.status === 'Ready').length === 3, 60_000);
    const secret = await m1.docker(['secret', 'create', 'dbpass', '-'], { input: `pw-${process.pid}` });
    assert.equal(secret.code, 0, secret.stderr);
    await m1.dockerOk(['service', 'create', '-d', '--no-resolve-image', '--name', 'before', '--secret', 'dbpass', '--replicas', '2', 'busybox', 'sleep', '1000']);

    // restart m1: locked
    await m1.stop();
    await m1.start();
    assert.equal(await localState(m1), 'locked');
    const ping = await m1.api('GET', '/_ping');
    assert.equal(ping.status, 200);
    const ls = await m1.docker(['node', 'ls']);
    assert.notEqual(ls.code, 0);
    assert.match(ls.stderr, new RegExp(LOCKED.replace(/[.*+?^${}()|[\]\\"]/g, '\\$&')));
    const rawLs = await m1.api<{ message: string }>('GET', '/services');
    assert.deepEqual([rawLs.status, rawLs.json.message], [503, LOCKED]);
    assertLockedUnder(m1, k1);
    const leave = await m1.api<{ message: string }>('POST', '/swarm/leave');
    assert.equal(leave.status, 503);
    assert.match(leave.json.message, /Swarm is encrypted and locked\. Please unlock it first or use `--force`/);

    // a wrong key and a malformed one are refused; m1 stays locked
    const wrong = await m1.docker(['swarm', 'unlock'], { input: 'SWMKEY-1-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n' });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, new RegExp(WRONG));
    const malformed = await m1.api<{ message: string }>('POST', '/swarm/unlock', { UnlockKey: 'not-a-key' });
    assert.deepEqual([malformed.status, malformed.json.message], [400, 'invalid key string']);
    const wrongRaw = await m1.api<{ message: string }>('POST', '/swarm/unlock', { UnlockKey: 'SWMKEY-1-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8' });
    assert.deepEqual([wrongRaw.status, wrongRaw.json.message], [401, WRONG]);
    assert.equal(await localState(m1), 'locked');
    assertLockedUnder(m1, k1);

    // the right key: unlocked, the swarm works
    const t0 = performance.now();
    const right = await m1.docker(['swarm', 'unlock'], { input: `${k1}\n` });
    assert.equal(right.code, 0, right.stderr);
    const unlockMs = performance.now() - t0;
    assert.equal(await localState(m1), 'active');
    const again = await m1.api<{ message: string }>('POST', '/swarm/unlock', { UnlockKey: k1 });
    assert.deepEqual([again.status, again.json.message], [409, 'swarm is not locked']);
    await until('three ready nodes after the unlock', async () => (await m1.nodeLs()).filter((n) => n.status === 'Ready').length === 3, 60_000);
    // figures, not assertions: `docker swarm unlock` returns once the manager and agent are started
    t.diagnostic(`docker swarm unlock took ${unlockMs.toFixed(0)} ms; node ls showed 3 ready nodes ${(performance.now() - t0).toFixed(0)} ms after it began`);
    assert.match(await m1.dockerOk(['service', 'ls']), / before /);
    assert.match(await m1.dockerOk(['secret', 'ls']), / dbpass /);
    const after = (await m1.dockerOk(['service', 'create', '-d', '--no-resolve-image', '--name', 'after', '--secret', 'dbpass', '--replicas', '2', 'busybox', 'sleep', '1000'])).trim();
    await until('the new service with the secret runs', async () => {
      const r = await m1.api<{ Status: { State: string } }[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [after] }))}`);
      return r.json.filter((t) => t.Status.State === 'running').length === 2;
    }, 60_000);
    assertLockedUnder(m1, k1);

    // rotate: both managers re-encrypt under the new key
    const rotated = await m1.dockerOk(['swarm', 'unlock-key', '--rotate']);
    assert.match(rotated, /^Successfully rotated manager unlock key\.\nTo unlock a swarm manager/);
    const k2 = /\n {4}(SWMKEY-1-\S+)\n/.exec(rotated)?.[1];
    assert.ok(k2 && k2 !== k1, rotated);
    for (const h of [m1, m2]) await lockedUnder(h, k2);

    // m2 restarted: the old key no longer unlocks it (shoal swarm unlock), the new one does
    await m2.stop();
    await m2.start();
    assert.equal(await localState(m2), 'locked');
    const old = await shoal(m2, ['swarm', 'unlock'], `${k1}\n`);
    assert.equal(old.code, 1);
    assert.match(old.stderr, new RegExp(WRONG));
    assert.equal(await localState(m2), 'locked');
    const ok = await shoal(m2, ['swarm', 'unlock'], `${k2}\n`);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(await localState(m2), 'active');
    const notLocked = await shoal(m2, ['swarm', 'unlock'], `${k2}\n`);
    assert.deepEqual([notLocked.code, notLocked.stderr], [1, 'Error: swarm is not locked\n']);
    assert.equal((await until('unlock-key through m2', async () => {
      const r = await shoal(m2, ['swarm', 'unlock-key', '-q']);
      return r.code === 0 ? r.stdout.trim() : undefined;
    }, 60_000)), k2);

    // autolock off: keys in clear, a restart needs no key
    const off = await m1.dockerOk(['swarm', 'update', '--autolock=false']);
    assert.equal(off, 'Swarm updated.\n');
    const none = await m1.docker(['swarm', 'unlock-key']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /no unlock key is set/);
    for (const h of [m1, m2]) await until(`${h.name} key in clear`, async () => !isEncryptedKeyPem(keyFile(h)), 60_000);
    for (const h of [m1, m2]) assert.ok(keyMatchesCertificate(keyFile(h), certFile(h)));
    await m1.stop();
    await m1.start();
    assert.equal(await localState(m1), 'active');
    await until('m1 serves after a restart without a key', async () => (await m1.nodeLs()).length === 3, 60_000);

    // and on again with the shoal CLI: a new key is printed
    const on = await shoal(m1, ['swarm', 'update', '--autolock']);
    assert.equal(on.code, 0, on.stderr);
    const k3 = /\n {4}(SWMKEY-1-\S+)\n/.exec(on.stdout)?.[1];
    assert.ok(k3 && k3 !== k1 && k3 !== k2, on.stdout);
    await lockedUnder(m1, k3);
    await lockedUnder(m2, k3);

    // a demoted manager writes its key in clear (a worker never needs the key); promoted again, it locks
    await m1.dockerOk(['node', 'demote', 'm2']);
    await until('m2 key in clear after demotion', async () => !isEncryptedKeyPem(keyFile(m2)) && keyMatchesCertificate(keyFile(m2), certFile(m2)), 60_000);
    await m1.dockerOk(['node', 'promote', 'm2']);
    await lockedUnder(m2, k3);
    assert.ok(!lab.logs().includes('cannot open a secret'), 'no secret was left out of an assignment');
  } catch (e) {
    process.stderr.write(lab.logs());
    throw e;
  } finally {
    const left = await lab.cleanup();
    assert.deepEqual(left, [], `left behind: ${left.join(', ')}`);
  }
});
