// The routing mesh's nftables table: a published port on any local address is DNATed over the task
// addresses (numgen for several, a plain DNAT for one, a TCP reset for none), masqueraded to the node's
// ingress address on the way into the ingress bridge, and nothing else is routed into or out of it.
// Output is deterministic; `nft -c` accepts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildIngressRuleset, ingressTableName } from '../../../worker/engine/network/ingress-ruleset.js';
import { runRaw } from '../../../worker/engine/network/exec.js';

test('ingress rules: several tasks spread with numgen to the target port, one is a plain DNAT, none refuses; deterministic', () => {
  const t = ingressTableName('x1');
  assert.equal(t, 'shoal_x1_ingress');
  const r = buildIngressRuleset(t, 'x1ov0', [
    { proto: 'udp', publishedPort: 53, targetPort: 5353, backends: ['10.0.0.9'] },
    { proto: 'tcp', publishedPort: 8080, targetPort: 80, backends: ['10.0.0.7', '10.0.0.5', '10.0.0.5'] },
    { proto: 'tcp', publishedPort: 9090, targetPort: 90, backends: [] },
  ]);
  assert.match(r, /fib daddr type local tcp dport 8080 dnat to numgen random mod 2 map \{ 0 : 10\.0\.0\.5, 1 : 10\.0\.0\.7 \}:80/);
  assert.match(r, /fib daddr type local udp dport 53 dnat to 10\.0\.0\.9:5353/);
  assert.match(r, /tcp dport 9090 reject with tcp reset/);
  assert.ok(!/dport 9090 dnat/.test(r), 'no DNAT for a port without tasks');
  assert.match(r, /oifname "x1ov0" ct status dnat masquerade/);
  assert.match(r, /iifname != "x1ov0" oifname "x1ov0" drop/);
  assert.match(r, /iifname "x1ov0" oifname != "x1ov0" drop/);
  // both the prerouting (other hosts) and output (this host) hooks carry the DNATs
  assert.equal(r.match(/dport 8080 dnat/g)?.length, 2);
  assert.equal(r, buildIngressRuleset(t, 'x1ov0', [
    { proto: 'tcp', publishedPort: 9090, targetPort: 90, backends: [] },
    { proto: 'tcp', publishedPort: 8080, targetPort: 80, backends: ['10.0.0.5', '10.0.0.7'] },
    { proto: 'udp', publishedPort: 53, targetPort: 5353, backends: ['10.0.0.9'] },
  ]));
});

test('ingress rules: nft accepts the table (checked with nft -c, nothing applied)', async () => {
  const r = buildIngressRuleset('shoal_chk_ingress', 'chkov0', [
    { proto: 'tcp', publishedPort: 8080, targetPort: 80, backends: ['10.0.0.5', '10.0.0.7'] },
    { proto: 'tcp', publishedPort: 8081, targetPort: 80, backends: ['10.0.0.5'] },
    { proto: 'udp', publishedPort: 8082, targetPort: 80, backends: [] },
  ]);
  const c = await runRaw(['nft', '-c', '-f', '-'], { input: r });
  assert.equal(c.code, 0, `nft -c refused the table: ${c.stderr}`);
});
