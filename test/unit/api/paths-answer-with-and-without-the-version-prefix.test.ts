import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApi } from '../../../worker/engine/api/server.js';
import { fakeDeps } from './fake-engine.js';

test('GET and HEAD /_ping answer OK with the headers the docker CLI negotiates from', async () => {
  const app = buildApi(fakeDeps());
  try {
    for (const method of ['GET', 'HEAD'] as const) {
      for (const url of ['/_ping', '/v1.41/_ping', '/v1.50/_ping']) {
        const r = await app.inject({ method, url });
        assert.equal(r.statusCode, 200, `${method} ${url}`);
        assert.equal(r.headers['api-version'], '1.45');
        assert.equal(r.headers['ostype'], 'linux');
        assert.equal(r.headers['docker-experimental'], 'false');
        assert.equal(r.headers['builder-version'], '1');
        assert.match(String(r.headers['cache-control']), /no-cache/);
        if (method === 'GET') assert.equal(r.body, 'OK');
        else assert.equal(r.body, '');
      }
    }
  } finally {
    await app.close();
  }
});

test('/version and /info answer the same with and without a /vX.Y prefix', async () => {
  const app = buildApi(fakeDeps());
  try {
    for (const path of ['/version', '/info']) {
      const plain = await app.inject({ method: 'GET', url: path });
      const prefixed = await app.inject({ method: 'GET', url: `/v1.24${path}` });
      assert.equal(plain.statusCode, 200);
      assert.equal(prefixed.statusCode, 200);
      const a = plain.json<Record<string, unknown>>();
      const b = prefixed.json<Record<string, unknown>>();
      if (path === '/version') {
        assert.equal(a['ApiVersion'], '1.45');
        assert.equal(a['MinAPIVersion'], '1.24');
        assert.equal(a['Os'], 'linux');
        assert.deepEqual(a, b);
      } else {
        assert.equal(a['OSType'], 'linux');
        assert.equal((a['Swarm'] as Record<string, unknown>)['LocalNodeState'], 'inactive');
        assert.equal(a['Containers'], 0);
        assert.equal(b['ID'], a['ID']);
      }
    }
  } finally {
    await app.close();
  }
});

test('a version-looking segment that is not a prefix is not stripped', async () => {
  const app = buildApi(fakeDeps());
  try {
    const r = await app.inject({ method: 'GET', url: '/v1.41' });
    assert.equal(r.statusCode, 404);
    assert.match(r.json<{ message: string }>().message, /page not found/);
  } finally {
    await app.close();
  }
});
