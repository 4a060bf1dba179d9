import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildApi, listenUnix } from '../../../worker/engine/api/server.js';
import { StdcopyDecoder } from '../../../worker/engine/api/stdcopy.js';
import { fakeContainers, fakeDeps } from './fake-engine.js';

/** Sends a raw request on the socket; returns the header block and a reader of everything after it. */
function rawConversation(path: string, request: string, stdin?: string): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => s.destroy(new Error('no end of conversation within 10 s')), 10_000);
    s.on('connect', () => {
      s.write(request);
      if (stdin !== undefined) {
        s.write(stdin);
        s.end();
      }
    });
    s.on('data', (c: Buffer) => (buf = Buffer.concat([buf, c])));
    s.on('end', () => {
      clearTimeout(timer);
      const i = buf.indexOf('\r\n\r\n');
      resolve({ head: buf.subarray(0, i).toString(), rest: buf.subarray(i + 4) });
      s.destroy();
    });
    s.on('error', reject);
  });
}

test('attach upgrades with 101, carries stdin in and stdcopy frames out, and half-closes at the end', async () => {
  const containers = fakeContainers();
  const app = buildApi(fakeDeps({ containers }));
  const sock = join(tmpdir(), `shoal-api-${process.pid}-${randomBytes(3).toString('hex')}.sock`);
  try {
    await listenUnix(app, sock);
    const { Id } = (await containers.create({ Image: 'busybox' })) as { Id: string };
    const req = `POST /v1.45/containers/${Id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: text/plain\r\n\r\n`;
    const { head, rest } = await rawConversation(sock, req, 'hello');
    assert.match(head, /^HTTP\/1\.1 101 UPGRADED/);
    assert.match(head, /Content-Type: application\/vnd\.docker\.multiplexed-stream/);
    assert.match(head, /Upgrade: tcp/);
    const frames = new StdcopyDecoder().push(rest);
    assert.deepEqual(frames.map((f) => [f.stream, f.data.toString()]), [['stdout', 'HELLO'], ['stderr', 'bye\n']]);
  } finally {
    await app.close();
    await rm(sock, { force: true });
  }
});

test('exec start reads its JSON body from the upgraded socket; errors before the upgrade are JSON', async () => {
  const containers = fakeContainers();
  const app = buildApi(fakeDeps({ containers }));
  const sock = join(tmpdir(), `shoal-api-${process.pid}-${randomBytes(3).toString('hex')}.sock`);
  try {
    await listenUnix(app, sock);
    const { Id } = (await containers.create({ Image: 'busybox' })) as { Id: string };
    const { Id: execId } = containers.execCreate(Id, { Cmd: ['ls', '/'] }) as { Id: string };
    const body = JSON.stringify({ Detach: false, Tty: false });
    const req = `POST /v1.45/exec/${execId}/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const { head, rest } = await rawConversation(sock, req);
    assert.match(head, /^HTTP\/1\.1 101 UPGRADED/);
    const frames = new StdcopyDecoder().push(rest);
    assert.deepEqual(frames.map((f) => [f.stream, f.data.toString()]), [['stdout', 'ls /\n'], ['stderr', 'warn\n']]);

    const missing = `POST /exec/${'f'.repeat(64)}/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;
    const err = await rawConversation(sock, missing);
    assert.match(err.head, /^HTTP\/1\.1 404/);
    assert.match(err.head, /Content-Type: application\/json/);
    assert.match(err.rest.toString(), /No such exec instance/);

    const badJson = `POST /exec/${execId}/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{x}`;
    const bad = await rawConversation(sock, badJson);
    assert.match(bad.head, /^HTTP\/1\.1 400/);
    assert.match(bad.rest.toString(), /invalid JSON/);
  } finally {
    await app.close();
    await rm(sock, { force: true });
  }
});

test('wait answers with its headers before the container exits, then the status code', async () => {
  const containers = fakeContainers();
  const app = buildApi(fakeDeps({ containers }));
  const sock = join(tmpdir(), `shoal-api-${process.pid}-${randomBytes(3).toString('hex')}.sock`);
  try {
    await listenUnix(app, sock);
    const { Id } = (await containers.create({ Image: 'busybox' })) as { Id: string };
    const s = connect(sock);
    let got = '';
    const headersSeen = new Promise<void>((resolve) => {
      s.on('data', (c: Buffer) => {
        got += c.toString();
        if (got.includes('\r\n\r\n')) resolve();
      });
    });
    s.write(`POST /v1.45/containers/${Id}/wait?condition=next-exit HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
    await headersSeen;
    assert.match(got, /^HTTP\/1\.1 200/);
    assert.doesNotMatch(got, /StatusCode/, 'no body before the exit');
    const ended = new Promise<void>((resolve) => s.on('data', () => got.includes('StatusCode') && resolve()));
    await containers.kill(Id, 'KILL');
    await ended;
    assert.match(got, /\{"StatusCode":137,"Error":null\}/);
    s.destroy();
  } finally {
    await app.close();
    await rm(sock, { force: true });
  }
});
