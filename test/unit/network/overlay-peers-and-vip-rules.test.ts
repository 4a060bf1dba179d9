import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peerDiff } from '../../../worker/engine/network/overlay-links.js';
import { buildVipRuleset } from '../../../worker/engine/network/vip-ruleset.js';
import { buildRuleset } from '../../../worker/engine/network/nft-ruleset.js';

const p = (ip: string, mac: string, vtep: string) => ({ ip, mac, vtep });

test('peer diff: new peers get a permanent neighbour and forwarding entry, gone ones are deleted, kept ones untouched', () => {
  const a = p('10.0.1.5', '02:42:0a:00:01:05', '192.168.1.2');
  const b = p('10.0.1.6', '02:42:0a:00:01:06', '192.168.1.3');
  const bMoved = { ...b, vtep: '192.168.1.4' };
  const d = peerDiff('vx0', [a, b], [a, bMoved]);
  assert.deepEqual(d.ip, ['neigh replace 10.0.1.6 lladdr 02:42:0a:00:01:06 dev vx0 nud permanent']);
  assert.deepEqual(d.bridge, ['fdb replace 02:42:0a:00:01:06 dev vx0 dst 192.168.1.4 self permanent'], 'a task that moved host is re-pointed, not deleted');
  const gone = peerDiff('vx0', [a, b], [a]);
  assert.deepEqual(gone.ip, ['neigh del 10.0.1.6 dev vx0']);
  assert.deepEqual(gone.bridge, ['fdb del 02:42:0a:00:01:06 dev vx0 self']);
  assert.deepEqual(peerDiff('vx0', [a], [a]), { ip: [], bridge: [] });
});

test('VIP rules: several backends spread with numgen, one backend is a plain DNAT, none is refused; output is deterministic', () => {
  const r = buildVipRuleset([
    { vip: '10.0.1.3', backends: [] },
    { vip: '10.0.1.2', backends: ['10.0.1.12', '10.0.1.11', '10.0.1.11'] },
    { vip: '10.0.1.4', backends: ['10.0.1.20'] },
  ]);
  assert.match(r, /ip daddr 10\.0\.1\.2 dnat to numgen random mod 2 map \{ 0 : 10\.0\.1\.11, 1 : 10\.0\.1\.12 \}/);
  assert.match(r, /ip daddr 10\.0\.1\.4 dnat to 10\.0\.1\.20\n/);
  assert.match(r, /ip daddr 10\.0\.1\.3 reject with icmp type host-unreachable/);
  assert.ok(r.indexOf('10.0.1.2 ') < r.indexOf('10.0.1.4 '));
  assert.equal(r, buildVipRuleset([{ vip: '10.0.1.4', backends: ['10.0.1.20'] }, { vip: '10.0.1.2', backends: ['10.0.1.11', '10.0.1.12'] }, { vip: '10.0.1.3', backends: [] }]));
});

test('the host ruleset never routes into an overlay subnet or out of an overlay bridge', () => {
  const r = buildRuleset('shoal_x', 'xbr*', [{ name: 'xbr0', subnet: '172.30.0.0/16', masquerade: true, internal: false }], [], [{ bridge: 'xov0', subnet: '10.0.1.0/24' }]);
  assert.match(r, /ip daddr 10\.0\.1\.0\/24 oifname != "xov0" drop/);
  assert.match(r, /iifname "xov0" oifname != "xov0" drop/);
});
