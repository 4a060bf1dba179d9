import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, DnsFormatError, encodeFormErr, encodeQuery, encodeResponse, QTYPE, RCODE } from '../../../worker/engine/network/dns-codec.js';

test('a query round-trips: id, RD bit, lower-cased name, type', () => {
  const q = decodeMessage(encodeQuery(0xbeef, 'Web.Front.', QTYPE.AAAA));
  assert.equal(q.id, 0xbeef);
  assert.equal(q.response, false);
  assert.equal(q.recursionDesired, true);
  assert.deepEqual(q.questions, [{ name: 'web.front', type: QTYPE.AAAA, class: 1 }]);
});

test('an A answer carries one record per address, the question echoed, compression pointers decoded', () => {
  const q = decodeMessage(encodeQuery(7, 'web'));
  const r = decodeMessage(encodeResponse(q, RCODE.NOERROR, ['10.0.0.2', '10.0.0.3'], 600));
  assert.equal(r.id, 7);
  assert.equal(r.response, true);
  assert.equal(r.rcode, RCODE.NOERROR);
  assert.equal(r.recursionDesired, true);
  assert.deepEqual(r.questions, q.questions);
  assert.deepEqual(r.answers.map((a) => [a.name, a.type, a.ttl, a.data]), [
    ['web', QTYPE.A, 600, '10.0.0.2'],
    ['web', QTYPE.A, 600, '10.0.0.3'],
  ]);
});

test('NXDOMAIN and AAAA-for-a-known-name responses have no answers', () => {
  const nx = decodeMessage(encodeResponse(decodeMessage(encodeQuery(1, 'nope')), RCODE.NXDOMAIN));
  assert.equal(nx.rcode, RCODE.NXDOMAIN);
  assert.deepEqual(nx.answers, []);
  const aaaa = decodeMessage(encodeResponse(decodeMessage(encodeQuery(2, 'web', QTYPE.AAAA)), RCODE.NOERROR, ['10.0.0.2']));
  assert.equal(aaaa.rcode, RCODE.NOERROR);
  assert.deepEqual(aaaa.answers, [], 'no A record smuggled into an AAAA answer');
});

test('malformed messages are errors, not crashes; a FORMERR reply keeps the id', () => {
  assert.throws(() => decodeMessage(Buffer.alloc(5)), DnsFormatError);
  const bad = encodeQuery(9, 'web');
  bad[12] = 60; // label length past the end
  assert.throws(() => decodeMessage(bad), DnsFormatError);
  const loop = Buffer.concat([encodeQuery(3, 'a').subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  assert.throws(() => decodeMessage(loop), /loop/);
  const fe = decodeMessage(encodeFormErr(bad)!);
  assert.equal(fe.id, 9);
  assert.equal(fe.rcode, RCODE.FORMERR);
  assert.throws(() => encodeQuery(1, `${'x'.repeat(64)}.com`), DnsFormatError);
});
