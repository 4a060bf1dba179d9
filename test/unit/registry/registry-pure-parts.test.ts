/** The pure parts of registry and peer distribution: credentials, progress bars, platforms, peer requests and checks. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authFromObject, basicHeader, decodeRegistryAuth, encodeRegistryAuth, redact } from '../../../worker/engine/image/auth-config.js';
import { sha256Of } from '../../../worker/engine/image/digest.js';
import { parsePlatform, pickPlatform } from '../../../worker/engine/image/image-pull.js';
import { blobPath, lookupKey, manifestPath, parsePeerRequest } from '../../../worker/engine/image/peer-protocol.js';
import { checkPeerManifest } from '../../../worker/engine/image/peer-pull.js';
import { byteReporter, humanSize, progressBar, shortId } from '../../../worker/engine/image/registry-progress.js';
import { registryBase } from '../../../worker/engine/api/registry-routes.js';
import { insecureRegistryProblem, isInsecureHost, registryTarget } from '../../../worker/engine/image/registry-client.js';

const D1 = sha256Of('one');
const D2 = sha256Of('two');

test('X-Registry-Auth: base64url and standard base64 of the docker CLI JSON decode; {} and garbage mean no credentials', () => {
  const a = { username: 'docker', password: 'p+/=?', serverAddress: '127.0.0.1:5000' };
  assert.deepEqual(decodeRegistryAuth(encodeRegistryAuth(a)), a);
  assert.deepEqual(decodeRegistryAuth(Buffer.from(JSON.stringify({ Username: 'u', Password: 'p' })).toString('base64')), { username: 'u', password: 'p' });
  assert.deepEqual(decodeRegistryAuth(encodeRegistryAuth({ identityToken: 'tok' })), { identityToken: 'tok' });
  assert.equal(decodeRegistryAuth('e30='), undefined);
  assert.equal(decodeRegistryAuth('%%%not base64 json'), undefined);
  assert.equal(decodeRegistryAuth(undefined), undefined);
  assert.equal(authFromObject([]), undefined);
  assert.equal(authFromObject({ password: 'only' }), undefined);
});

test('credentials never reach what may be logged; Basic carries user:password', () => {
  assert.equal(redact({ username: 'u', password: 'secret' }), 'user u');
  assert.equal(redact({ identityToken: 'secret' }), 'identity token');
  assert.equal(redact(undefined), 'anonymous');
  assert.equal(basicHeader({ username: 'u', password: 'p' }), `Basic ${Buffer.from('u:p').toString('base64')}`);
  assert.equal(basicHeader({ identityToken: 't' }), undefined);
});

test('progress bars are the docker CLI\'s: the jsonmessage 50-wide bar and go-units sizes, and the reporter speaks every step and at the end', () => {
  assert.equal(progressBar(0, 1000), `[>${' '.repeat(50)}]       0B/1kB`);
  assert.equal(progressBar(500_000, 1_000_000), `[${'='.repeat(25)}>${' '.repeat(25)}]    500kB/1MB`);
  assert.equal(progressBar(12_345_678, 27_090_000), `[${'='.repeat(22)}>${' '.repeat(28)}]  12.35MB/27.09MB`);
  assert.equal(progressBar(2_500_000, 2_500_000), `[${'='.repeat(50)}>]    2.5MB/2.5MB`);
  assert.equal(progressBar(0, 0), '');
  assert.equal(humanSize(999_999), '1000kB');
  assert.equal(shortId(D1), D1.slice(7, 19));
  const seen: number[] = [];
  const r = byteReporter((m) => seen.push((m['progressDetail'] as { current: number }).current), 'Downloading', 'x', 1000, 300);
  for (const n of [100, 200, 350, 500, 700, 1000]) r(n);
  assert.deepEqual(seen, [100, 500, 1000]);
});

test('platforms: os/arch[/variant] with docker\'s aliases; a variant is matched only when asked for; bad forms are 400', () => {
  assert.deepEqual(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.throws(() => parsePlatform('linux'), /platform: "linux" is not os\/arch\[\/variant\]/);
  const ms = [
    { mediaType: 'm', digest: D1, size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    { mediaType: 'm', digest: D2, size: 1, platform: { os: 'linux', architecture: 'amd64' } },
  ];
  assert.equal(pickPlatform(ms, { os: 'linux', architecture: 'amd64' })?.digest, D2);
  assert.equal(pickPlatform(ms, { os: 'linux', architecture: 'arm64' })?.digest, D1);
  assert.equal(pickPlatform(ms, { os: 'linux', architecture: 'arm64', variant: 'v7' }), undefined);
});

test('docker login server addresses map to a registry base URL; plain HTTP only for loopback', () => {
  assert.equal(registryBase('127.0.0.1:5000'), 'http://127.0.0.1:5000');
  assert.equal(registryBase('localhost:5000'), 'http://localhost:5000');
  assert.equal(registryBase('registry.example:443'), 'https://registry.example:443');
  assert.equal(registryBase('https://index.docker.io/v1/'), 'https://registry-1.docker.io');
  assert.throws(() => registryBase('bad host!'), /serveraddress: "bad host!" is not a registry host/);
});

test('peer requests: manifests by encoded reference, blobs by digest; anything else is 400/404/405 with the reason', () => {
  assert.deepEqual(parsePeerRequest('GET', manifestPath('127.0.0.1:5000/a/b:1')), { kind: 'manifest', ref: '127.0.0.1:5000/a/b:1' });
  assert.deepEqual(parsePeerRequest('HEAD', manifestPath(D1)), { kind: 'manifest', ref: D1 });
  assert.deepEqual(parsePeerRequest('GET', `${blobPath(D2)}?x=1`), { kind: 'blob', digest: D2 });
  assert.deepEqual(parsePeerRequest('PUT', blobPath(D2)), { kind: 'error', status: 405, message: 'method PUT is not allowed: the peer image endpoint is read-only' });
  assert.equal((parsePeerRequest('GET', '/shoal/peer/v1/blobs/sha256:abc') as { status: number }).status, 400);
  assert.equal((parsePeerRequest('GET', '/shoal/peer/v1/blobs/../../etc/passwd') as { status: number }).status, 400);
  assert.match((parsePeerRequest('GET', manifestPath('Not A Ref')) as { message: string }).message, /^ref: invalid reference format/);
  assert.equal((parsePeerRequest('GET', '/shoal/peer/v1/manifests/%E0%A4%A') as { message: string }).message, 'ref: not valid percent-encoding');
  assert.equal((parsePeerRequest('GET', '/v2/') as { status: number }).status, 404);
  assert.equal(lookupKey(`app:1@${D1}`), `app@${D1}`);
  assert.equal(lookupKey('app:1'), 'app:1');
  assert.equal(lookupKey(D1), D1);
});

test('a peer manifest is refused when its content is not the digest it claims, a pin asks for, or the expected image ID', () => {
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D1, size: 2 }, layers: [] }));
  const m = { bytes: manifest, digest: sha256Of(manifest), claimedDigest: sha256Of(manifest), mediaType: '', imageId: D1 };
  assert.equal(checkPeerManifest('app:1', m, 'p').config.digest, D1);
  assert.equal(checkPeerManifest(`app@${m.digest}`, m, 'p').config.digest, D1);
  assert.equal(checkPeerManifest(D1, m, 'p').config.digest, D1);
  assert.throws(() => checkPeerManifest('app:1', { ...m, claimedDigest: D2 }, 'p'), new RegExp(`p sent a manifest whose content is ${m.digest}, not the ${D2} it claims`));
  assert.throws(() => checkPeerManifest(`app:1@${D2}`, m, 'p'), /which pins/);
  assert.throws(() => checkPeerManifest(D2, m, 'p'), new RegExp(`serves image ${D1} for ${D2}, not ${D2}`));
  assert.throws(() => checkPeerManifest('app:1', m, 'p', D2), /not sha256:/);
  assert.throws(() => checkPeerManifest('app:1', { ...m, bytes: Buffer.from('{"manifests":[]}'), claimedDigest: undefined }, 'p'), /not an image manifest/);
});

test('plain HTTP for loopback (127.0.0.0/8, localhost, ::1) and for --insecure-registry entries: exact host:port, host, or IPv4 CIDR', () => {
  assert.ok(isInsecureHost('127.3.4.5:5000'));
  assert.ok(isInsecureHost('localhost'));
  assert.ok(isInsecureHost('[::1]:5000'));
  assert.ok(!isInsecureHost('10.1.2.3:5000'));
  assert.ok(isInsecureHost('10.1.2.3:5000', ['10.0.0.0/8']));
  assert.ok(!isInsecureHost('11.1.2.3:5000', ['10.0.0.0/8']));
  assert.ok(isInsecureHost('reg.lan:5000', ['reg.lan']));
  assert.ok(isInsecureHost('reg.lan:5000', ['reg.lan:5000']));
  assert.ok(!isInsecureHost('reg.lan:5001', ['reg.lan:5000']));
  assert.ok(isInsecureHost('192.168.7.9', ['0.0.0.0/0']));
  assert.equal(registryTarget('10.9.8.7:5000/a/b:1', ['10.9.8.0/24']).base, 'http://10.9.8.7:5000');
  assert.equal(registryTarget('10.9.8.7:5000/a/b:1').base, 'https://10.9.8.7:5000');
  assert.equal(registryBase('10.9.8.7:5000', ['10.9.8.7:5000']), 'http://10.9.8.7:5000');
  for (const good of ['reg.lan', 'reg.lan:5000', '10.0.0.0/8', '[fd00::1]:5000']) assert.equal(insecureRegistryProblem(good), undefined, good);
  assert.match(insecureRegistryProblem('10.0.0.0/33') ?? '', /not an IPv4 CIDR/);
  assert.match(insecureRegistryProblem('https://reg.lan') ?? '', /without a scheme/);
  assert.match(insecureRegistryProblem('reg lan') ?? '', /not host\[:port\] or a CIDR/);
});
