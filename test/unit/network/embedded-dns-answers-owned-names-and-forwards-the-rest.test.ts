import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { EmbeddedDns, parseUpstream, type Upstream } from '../../../worker/engine/network/dns-server.js';
import { decodeMessage, encodeQuery, encodeResponse, QTYPE, RCODE } from '../../../worker/engine/network/dns-codec.js';

const lookup = (cid: string, name: string): string[] | undefined => (cid === 'c1' && name === 'web' ? ['10.0.0.5'] : undefined);

test('owned names get A records, AAAA gets an empty NOERROR, scoping goes by the asking container', async () => {
  const dns = new EmbeddedDns({ lookup, upstreams: () => [] });
  const a = decodeMessage((await dns.answer('c1', encodeQuery(1, 'web.')))!);
  assert.deepEqual(a.answers.map((x) => x.data), ['10.0.0.5']);
  const aaaa = decodeMessage((await dns.answer('c1', encodeQuery(2, 'web', QTYPE.AAAA)))!);
  assert.equal(aaaa.rcode, RCODE.NOERROR);
  assert.deepEqual(aaaa.answers, []);
  const other = decodeMessage((await dns.answer('c2', encodeQuery(3, 'web')))!);
  assert.equal(other.rcode, RCODE.NXDOMAIN, 'no upstreams: NXDOMAIN');
  assert.equal(await dns.answer('c1', encodeResponse(decodeMessage(encodeQuery(4, 'web')), 0)), undefined, 'responses are dropped');
  assert.equal(decodeMessage((await dns.answer('c1', Buffer.from([0, 5, 1, 0, 0])))!).rcode, RCODE.FORMERR);
});

test('unknown names are forwarded to the first upstream that answers; a silent upstream costs one deadline, then SERVFAIL', async () => {
  const good = createSocket('udp4');
  good.on('message', (m, r) => good.send(encodeResponse(decodeMessage(m), RCODE.NOERROR, ['192.0.2.9']), r.port, r.address));
  const silent = createSocket('udp4');
  await Promise.all([good, silent].map((s) => new Promise<void>((res) => s.bind(0, '127.0.0.1', () => res()))));
  const up = (s: typeof good): Upstream => ({ address: '127.0.0.1', port: s.address().port });
  let ups: Upstream[] = [up(silent), up(good)];
  const dns = new EmbeddedDns({ lookup, upstreams: () => ups, forwardTimeoutMs: 200 });
  try {
    const r = decodeMessage((await dns.answer('c1', encodeQuery(11, 'example.org')))!);
    assert.equal(r.id, 11);
    assert.deepEqual(r.answers.map((x) => x.data), ['192.0.2.9']);
    ups = [up(silent)];
    assert.equal(decodeMessage((await dns.answer('c1', encodeQuery(12, 'example.org')))!).rcode, RCODE.SERVFAIL);
  } finally {
    good.close();
    silent.close();
  }
});

test('upstream addresses parse with an optional port', () => {
  assert.deepEqual(parseUpstream('10.0.0.1'), { address: '10.0.0.1', port: 53 });
  assert.deepEqual(parseUpstream('127.0.0.1:5353'), { address: '127.0.0.1', port: 5353 });
  assert.equal(parseUpstream('fe80::1'), undefined);
});
