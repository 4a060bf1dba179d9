/**
 * The real docker CLI against shoald and Debian's docker-registry configured for token auth, with a
 * token server of the test's own on 127.0.0.1 that checks Basic credentials and signs ES256 JWTs the
 * registry verifies (x5c chain to its rootcertbundle). Shows the Bearer flow end to end: login,
 * push with a pull,push token, a cross-repository mount with the extra pull scope, pull back with
 * the same digest; a wrong password fails with the token server's message; credentials stay out of
 * shoald's log.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RootCA } from '../../../manager/ca/root-ca.js';
import { DOCKER, ShoaldHarness } from '../engine/shoald-harness.js';
import { startRegistry, type RegistryFixture } from '../../integration/registry/registry-fixture.js';

const SERVICE = 'shoal-test-registry';
const ISSUER = 'shoal-test-token-issuer';

interface TokenServer {
  realm: string;
  /** every scope asked for, in order, with the user (or "anonymous") */
  requests: { user: string; scopes: string[] }[];
  close(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** A token server: Basic credentials checked, then a JWT granting exactly the scopes asked for. */
async function startTokenServer(signer: { certPem: string; keyPem: string }, user: { username: string; password: string }): Promise<TokenServer> {
  const key = createPrivateKey(signer.keyPem);
  const x5c = [new X509Certificate(signer.certPem).raw.toString('base64')];
  const requests: TokenServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization ?? '';
    const m = /^Basic (.+)$/.exec(auth);
    const [u, p] = m !== null ? Buffer.from(m[1]!, 'base64').toString().split(/:(.*)/s) : [undefined, undefined];
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter((s) => s !== '');
    requests.push({ user: u ?? 'anonymous', scopes });
    if (url.pathname !== '/token' || url.searchParams.get('service') !== SERVICE) {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'DENIED', message: 'unknown service' }] }));
      return;
    }
    if (u !== user.username || p !== user.password) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] }));
      return;
    }
    const access = scopes.map((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop()!.split(',');
      return { type, name: rest.join(':'), actions };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c }));
    const claims = b64url(JSON.stringify({ iss: ISSUER, sub: u, aud: SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access }));
    const sig = sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${header}.${claims}.${b64url(sig)}`;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    realm: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    requests,
    close: () => new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
  };
}

describe('docker login, push and pull through a registry with Bearer token auth', () => {
  let h: ShoaldHarness;
  let reg: RegistryFixture;
  let tokens: TokenServer;
  const user = { username: 'tokenuser', password: `pw-${randomBytes(6).toString('hex')}` };
  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (mounts, namespaces)');
    if (!existsSync(DOCKER)) throw new Error(`this test needs the docker CLI at ${DOCKER}`);
    const signer = await RootCA.create({ clusterId: 'token-signer', now: new Date() });
    tokens = await startTokenServer(signer, user);
    reg = await startRegistry({ token: { realm: tokens.realm, service: SERVICE, issuer: ISSUER, certPem: signer.certPem } });
    h = await ShoaldHarness.create();
    await h.start();
  });
  after(async () => {
    await reg?.close();
    await tokens?.close();
    if (!h) return;
    const left = await h.cleanup();
    assert.deepEqual(left, [], `leftovers after cleanup: ${left.join(', ')}`);
  });

  test('wrong password → the token server\'s message; login; push with a push token; a second repository mounts the layers; pull back by digest', async () => {
    const cfgDir = h.env['DOCKER_CONFIG']!;
    await mkdir(cfgDir, { recursive: true });
    const ref = `${reg.host}/team/bb:1`;
    assert.equal((await h.docker(['tag', 'busybox', ref])).code, 0);

    const wrong = await h.docker(['login', reg.host, '-u', user.username, '--password-stdin'], { input: 'not-the-password\n', timeoutMs: 60_000 });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /unauthorized: incorrect username or password/);
    const login = await h.docker(['login', reg.host, '-u', user.username, '--password-stdin'], { input: `${user.password}\n`, timeoutMs: 60_000 });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /Login Succeeded/);

    const push = await h.docker(['push', ref], { timeoutMs: 120_000 });
    assert.equal(push.code, 0, push.stderr + push.stdout);
    const digest = /1: digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
    assert.ok(digest, push.stdout);
    assert.ok(tokens.requests.some((r) => r.user === user.username && r.scopes.includes('repository:team/bb:pull,push')), `a push token was asked for: ${JSON.stringify(tokens.requests)}`);

    const other = `${reg.host}/team/copy:1`;
    assert.equal((await h.docker(['tag', ref, other])).code, 0);
    const mount = await h.docker(['push', other], { timeoutMs: 120_000 });
    assert.equal(mount.code, 0, mount.stderr + mount.stdout);
    assert.match(mount.stdout, /Mounted from team\/bb/);
    assert.ok(tokens.requests.some((r) => r.scopes.includes('repository:team/bb:pull') && r.scopes.includes('repository:team/copy:pull,push')), `the mount asked for pull on the source: ${JSON.stringify(tokens.requests)}`);
    assert.match(mount.stdout, new RegExp(`1: digest: ${digest}`), 'same manifest, same digest');

    assert.equal((await h.docker(['rmi', ref, other])).code, 0);
    const pull = await h.docker(['pull', `${reg.host}/team/bb@${digest}`], { timeoutMs: 120_000 });
    assert.equal(pull.code, 0, pull.stderr + pull.stdout);
    assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
    const runOut = await h.docker(['run', '--rm', `${reg.host}/team/bb@${digest}`, 'echo', 'token-ok']);
    assert.equal(runOut.stdout, 'token-ok\n', runOut.stderr);

    await rm(join(cfgDir, 'config.json'), { force: true });
    const anon = await h.docker(['pull', ref], { timeoutMs: 60_000 });
    assert.notEqual(anon.code, 0, 'no credentials: the token server refuses');
    assert.match(anon.stderr, /unauthorized: incorrect username or password/);
    assert.ok(!h.log().includes(user.password), 'the password never reaches shoald\'s log');
  });
});
