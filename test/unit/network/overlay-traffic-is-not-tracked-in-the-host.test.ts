// The host never routes overlay traffic (it is bridged, or VXLAN-encapsulated), so its connection
// tracking there is work for nothing: the host table marks traffic from overlay bridges and this host's
// VXLAN datagrams untracked — except the ingress network, whose published ports are NATed in the host.
// `nft -c` accepts the table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRuleset } from '../../../worker/engine/network/nft-ruleset.js';
import { runRaw } from '../../../worker/engine/network/exec.js';

const bridges = [{ name: 'xbr0', subnet: '172.30.0.0/16', masquerade: true, internal: false }];

test('overlay bridges and VXLAN datagrams are untracked in the host; the ingress bridge stays tracked', async () => {
  const r = buildRuleset('shoal_x', 'xbr*', bridges, [], [
    { bridge: 'xov0', subnet: '10.0.1.0/24', untracked: true },
    { bridge: 'xov1', subnet: '10.0.0.0/24', untracked: false },
  ], '192.168.5.2');
  assert.match(r, /type filter hook prerouting priority raw;[^}]*iifname "xov0" notrack/s);
  assert.ok(!/iifname "xov1" notrack/.test(r), 'the ingress bridge is tracked (its published ports are NATed here)');
  assert.match(r, /ip daddr 192\.168\.5\.2 udp dport 4789 notrack/);
  assert.match(r, /type filter hook output priority raw;[^}]*ip saddr 192\.168\.5\.2 udp dport 4789 notrack/s);
  // isolation stays as it was
  assert.match(r, /ip daddr 10\.0\.1\.0\/24 oifname != "xov0" drop/);
  const c = await runRaw(['nft', '-c', '-f', '-'], { input: r });
  assert.equal(c.code, 0, `nft -c refused the table: ${c.stderr}`);
});

test('without overlays (or before the host knows its VXLAN address) there is nothing to untrack', () => {
  assert.ok(!buildRuleset('shoal_x', 'xbr*', bridges, [], []).includes('notrack'));
  assert.ok(!buildRuleset('shoal_x', 'xbr*', bridges, [], [], '192.168.5.2').includes('raw'));
  const r = buildRuleset('shoal_x', 'xbr*', bridges, [], [{ bridge: 'xov0', subnet: '10.0.1.0/24', untracked: true }]);
  assert.ok(!r.includes('udp dport 4789'), 'no VXLAN rule without the local address');
});
