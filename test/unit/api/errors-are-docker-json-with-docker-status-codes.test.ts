import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApi } from '../../../worker/engine/api/server.js';
import { fakeContainers, fakeDeps } from './fake-engine.js';

test('malformed JSON gets 400 with a message naming the problem', async () => {
  const app = buildApi(fakeDeps({ containers: fakeContainers() }));
  try {
    const r = await app.inject({ method: 'POST', url: '/v1.41/containers/create', headers: { 'content-type': 'application/json' }, payload: '{"Image": "busybox",' });
    assert.equal(r.statusCode, 400);
    assert.match(String(r.headers['content-type']), /application\/json/);
    assert.match(r.json<{ message: string }>().message, /invalid JSON in request body/);
  } finally {
    await app.close();
  }
});

test('a body that is not an object, or lacks the image, gets 400', async () => {
  const app = buildApi(fakeDeps({ containers: fakeContainers() }));
  try {
    const arr = await app.inject({ method: 'POST', url: '/containers/create', payload: [1, 2] });
    assert.equal(arr.statusCode, 400);
    assert.match(arr.json<{ message: string }>().message, /JSON object/);
    const noImage = await app.inject({ method: 'POST', url: '/containers/create', payload: { Cmd: ['true'] } });
    assert.equal(noImage.statusCode, 400);
    assert.match(noImage.json<{ message: string }>().message, /Image is required/);
    const badName = await app.inject({ method: 'POST', url: '/containers/create?name=a%20b', payload: { Image: 'busybox' } });
    assert.equal(badName.statusCode, 400);
    assert.match(badName.json<{ message: string }>().message, /Invalid container name/);
  } finally {
    await app.close();
  }
});

test('store errors keep their status: an unknown image is 404 "No such image", an unknown container 404', async () => {
  const app = buildApi(fakeDeps({ containers: fakeContainers() }));
  try {
    const img = await app.inject({ method: 'POST', url: '/v1.41/containers/create', payload: { Image: 'nope' } });
    assert.equal(img.statusCode, 404);
    assert.deepEqual(img.json(), { message: 'No such image: nope:latest' });
    const ctr = await app.inject({ method: 'GET', url: '/v1.41/containers/missing/json' });
    assert.equal(ctr.statusCode, 404);
    assert.deepEqual(ctr.json(), { message: 'No such container: missing' });
  } finally {
    await app.close();
  }
});

test('unknown paths are JSON 404s and absent stores are 501s', async () => {
  const app = buildApi(fakeDeps());
  try {
    const r = await app.inject({ method: 'GET', url: '/v1.41/plugins/x/json' });
    assert.equal(r.statusCode, 404);
    assert.equal(typeof r.json<{ message: string }>().message, 'string');
    const noImages = await app.inject({ method: 'GET', url: '/images/json' });
    assert.equal(noImages.statusCode, 501);
    assert.match(noImages.json<{ message: string }>().message, /images is not available/);
  } finally {
    await app.close();
  }
});

test('bad query values are 400s: filters, booleans, integers, wait conditions', async () => {
  const app = buildApi(fakeDeps({ containers: fakeContainers() }));
  try {
    const cases: [string, string, RegExp][] = [
      ['GET', '/containers/json?filters=%7Bnope', /invalid filters/],
      ['GET', '/containers/json?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D', /invalid filter 'colour'/],
      ['GET', '/containers/json?all=maybe', /invalid boolean/],
      ['GET', '/containers/json?limit=ten', /invalid integer/],
      ['GET', '/events?since=yesterday', /invalid value for since/],
    ];
    for (const [method, url, re] of cases) {
      const r = await app.inject({ method: method as 'GET', url });
      assert.equal(r.statusCode, 400, url);
      assert.match(r.json<{ message: string }>().message, re, url);
    }
    const created = await app.inject({ method: 'POST', url: '/containers/create', payload: { Image: 'busybox' } });
    const id = created.json<{ Id: string }>().Id;
    const w = await app.inject({ method: 'POST', url: `/containers/${id}/wait?condition=soon` });
    assert.equal(w.statusCode, 400);
    assert.match(w.json<{ message: string }>().message, /invalid condition/);
  } finally {
    await app.close();
  }
});

test('overlay networks are refused with a clear 400 until the swarm exists', async () => {
  const networks = {
    create: async () => ({ Id: 'x' }),
    list: () => [],
    inspect: () => ({}),
    remove: async () => undefined,
    prune: async () => ({ NetworksDeleted: [] }),
  };
  const app = buildApi(fakeDeps({ networks }));
  try {
    const r = await app.inject({ method: 'POST', url: '/v1.41/networks/create', payload: { Name: 'n1', Driver: 'overlay', CheckDuplicate: true } });
    assert.equal(r.statusCode, 400);
    assert.match(r.json<{ message: string }>().message, /overlay networks need a swarm/);
    const macvlan = await app.inject({ method: 'POST', url: '/networks/create', payload: { Name: 'n1', Driver: 'macvlan' } });
    assert.equal(macvlan.statusCode, 400);
    const ok = await app.inject({ method: 'POST', url: '/networks/create?Name=n1', payload: { Name: 'n1' } });
    assert.equal(ok.statusCode, 201);
    assert.deepEqual(ok.json(), { Id: 'x', Warning: '' });
  } finally {
    await app.close();
  }
});
