/**
 * `shoald --insecure-registry`: a plain-HTTP registry that is not on loopback — Debian's
 * docker-registry inside a network namespace this test makes (a veth pair, a /30 in 10.251.0.0/16) —
 * is pushed to and pulled from when listed (by CIDR), and refused as HTTPS-only when not; a malformed
 * value stops shoald with a clear message. Everything made is removed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { DOCKER, run, SHOALD, ShoaldHarness } from '../engine/shoald-harness.js';
import { startRegistry, type RegistryFixture } from '../../integration/registry/registry-fixture.js';

const sh = async (args: string[]): Promise<void> => {
  const r = await run('ip', args, { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
};

describe('a plain-HTTP registry outside loopback, with and without --insecure-registry', () => {
  const tag = randomBytes(3).toString('hex');
  const ns = `shreg${tag}`;
  const hostIf = `shrh${tag}`;
  const nsIf = `shrn${tag}`;
  const third = randomBytes(1)[0]!;
  const hostAddr = `10.251.${third}.1`;
  const regAddr = `10.251.${third}.2`;
  let reg: RegistryFixture;
  let listed: ShoaldHarness;
  let unlisted: ShoaldHarness;
  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (network namespaces, mounts)');
    if (!existsSync(DOCKER)) throw new Error(`this test needs the docker CLI at ${DOCKER}`);
    await sh(['netns', 'add', ns]);
    await sh(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    await sh(['link', 'set', nsIf, 'netns', ns]);
    await sh(['addr', 'add', `${hostAddr}/30`, 'dev', hostIf]);
    await sh(['link', 'set', hostIf, 'up']);
    await sh(['-n', ns, 'addr', 'add', `${regAddr}/30`, 'dev', nsIf]);
    await sh(['-n', ns, 'link', 'set', nsIf, 'up']);
    await sh(['-n', ns, 'link', 'set', 'lo', 'up']);
    reg = await startRegistry({ listen: { netns: ns, address: regAddr } });
    listed = await ShoaldHarness.create();
    const base = listed.daemonArgs.bind(listed);
    listed.daemonArgs = () => [...base(), '--insecure-registry', '10.251.0.0/16'];
    await listed.start();
    unlisted = await ShoaldHarness.create();
    await unlisted.start();
  });
  after(async () => {
    await reg?.close();
    for (const h of [listed, unlisted]) {
      if (!h) continue;
      const left = await h.cleanup();
      assert.deepEqual(left, [], `leftovers after cleanup: ${left.join(', ')}`);
    }
    await run('ip', ['link', 'del', hostIf]);
    await run('ip', ['netns', 'del', ns]);
  });

  test('listed by CIDR: push, rmi and pull back over plain HTTP; unlisted: HTTPS is tried and fails clearly', async () => {
    const ref = `${reg.host}/lan/bb:1`;
    assert.equal((await listed.docker(['tag', 'busybox', ref])).code, 0);
    const push = await listed.docker(['push', ref], { timeoutMs: 120_000 });
    assert.equal(push.code, 0, push.stderr + push.stdout);
    const digest = /1: digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
    assert.ok(digest, push.stdout);
    assert.equal((await listed.docker(['rmi', ref])).code, 0);
    const pull = await listed.docker(['pull', ref], { timeoutMs: 120_000 });
    assert.equal(pull.code, 0, pull.stderr + pull.stdout);
    assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
    assert.equal((await listed.docker(['rmi', ref])).code, 0);

    const refused = await unlisted.docker(['pull', ref], { timeoutMs: 60_000 });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`registry https://${regAddr.replace(/\./g, '\\.')}:${reg.port} did not answer GET /v2/lan/bb/manifests/1`));
  });

  test('a malformed --insecure-registry stops shoald with the reason', async () => {
    const r = await run(process.execPath, [SHOALD, '--insecure-registry', 'http://10.1.2.3:5000'], { timeoutMs: 30_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /"http:\/\/10\.1\.2\.3:5000": give host\[:port\] without a scheme/);
  });
});
