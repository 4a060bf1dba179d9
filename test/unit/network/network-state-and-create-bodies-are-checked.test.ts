import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseState, StateFileError } from '../../../worker/engine/network/state-file.js';
import { checkCreateBody } from '../../../worker/engine/network/network-spec.js';
import { NetworkError } from '../../../worker/engine/network/errors.js';
import { formatCidr } from '../../../worker/engine/network/ipv4.js';

const is400 = (e: unknown) => e instanceof NetworkError && e.status === 400;

test('a persisted state file with a wrong shape is refused with a clear error, not half-loaded', () => {
  assert.throws(() => parseState('{'), StateFileError);
  assert.throws(() => parseState('{"version":2,"networks":[],"containers":[]}'), /version 1/);
  assert.throws(() => parseState('{"version":1,"networks":[{"id":1}],"containers":[]}'), /bad network/);
  assert.throws(() => parseState('{"version":1,"networks":[],"containers":[{"containerId":"x","name":"n","hostname":"h","mode":"netns","endpoints":[{"id":"e"}],"ports":[]}]}'), /bad endpoint/);
  assert.deepEqual(parseState('{"version":1,"networks":[],"containers":[]}'), { version: 1, networks: [], containers: [] });
});

test("Docker's network create body: names, drivers, IPAM and options are checked", () => {
  const c = checkCreateBody({ Name: 'front', IPAM: { Config: [{ Subnet: '10.5.0.7/24', Gateway: '10.5.0.254', IPRange: '10.5.0.128/25' }] }, Options: { 'com.docker.network.driver.mtu': '1450', 'com.docker.network.bridge.enable_ip_masquerade': 'false' }, Internal: true });
  assert.equal(formatCidr(c.subnet!), '10.5.0.0/24');
  assert.equal(c.mtu, 1450);
  assert.equal(c.masquerade, false);
  assert.equal(c.internal, true);
  assert.throws(() => checkCreateBody({}), is400);
  assert.throws(() => checkCreateBody({ Name: 'bad name' }), is400);
  assert.throws(() => checkCreateBody({ Name: 'x', Driver: 'overlay' }), is400);
  assert.throws(() => checkCreateBody({ Name: 'x', IPAM: { Config: [{ Subnet: '10.0.0.0/33' }] } }), is400);
  assert.throws(() => checkCreateBody({ Name: 'x', IPAM: { Config: [{ Gateway: '10.0.0.1' }] } }), is400);
  assert.throws(() => checkCreateBody({ Name: 'x', Options: { 'com.docker.network.driver.mtu': 'big' } }), is400);
  assert.throws(() => checkCreateBody({ Name: 'x', Labels: { a: 1 } }), is400);
});
