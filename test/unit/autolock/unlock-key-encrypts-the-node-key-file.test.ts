/**
 * Autolock's key handling: the unlock key's SWMKEY-1- form (SwarmKit's HumanReadableKey), the node's
 * TLS key encrypted under it on disk (PKCS#8 ENCRYPTED PRIVATE KEY), opened only by the right key,
 * re-written under a rotated key or in clear, and a key store that stays locked until given the key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decryptKeyPem, encryptKeyPem, formatUnlockKey, generateUnlockKey, isEncryptedKeyPem, KeyLockedError, keyMatchesCertificate, KeyMismatchError, parseUnlockKey,
  UnlockKeyFormatError,
} from '../../../manager/ca/kek.js';
import { KeyStore } from '../../../manager/ca/key-store.js';
import { RootCA } from '../../../manager/ca/root-ca.js';
import { createKeyAndCSR } from '../../../manager/ca/identity.js';

const NOW = new Date('2026-03-01T12:00:00Z');

async function identity(): Promise<{ rootPem: string; certPem: string; keyPem: string }> {
  const ca = await RootCA.create({ clusterId: 'c', now: NOW });
  const { keyPem, csrPem } = await createKeyAndCSR();
  const certPem = await ca.signCSR(csrPem, { nodeId: 'n1', role: 'manager', clusterId: 'c', now: NOW });
  return { rootPem: ca.certPem, certPem, keyPem };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `shoal-autolock-${process.pid}-`));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const locked = (reason: 'locked' | 'invalid-key') => (e: unknown) => e instanceof KeyLockedError && e.reason === reason;

test('the unlock key reads SWMKEY-1- plus unpadded base64 of 32 bytes, and parses back; anything else is "invalid key string"', () => {
  const bytes = Buffer.from([...Array(32).keys()]);
  const text = formatUnlockKey(bytes);
  assert.equal(text, 'SWMKEY-1-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
  assert.deepEqual(parseUnlockKey(text), bytes);
  assert.deepEqual(parseUnlockKey(`  ${text}\n`), bytes, 'a pasted key with white space around it');
  const k = generateUnlockKey(randomBytes);
  assert.equal(k.length, 32);
  assert.deepEqual(parseUnlockKey(formatUnlockKey(k)), k);
  for (const bad of ['', 'SWMKEY-1-', 'SWMKEY-2-AAEC', 'swmkey-1-AAECAw', 'SWMKEY-1-AAECAw==', 'SWMKEY-1-AA*C', 'SWMKEY-1-A']) {
    assert.throws(() => parseUnlockKey(bad), (e) => e instanceof UnlockKeyFormatError && e.message === 'invalid key string', bad);
  }
});

test('an encrypted key file holds no clear key, opens with the right unlock key only, and only to the certificate\'s key', async () => {
  const id = await identity();
  const kek = generateUnlockKey(randomBytes);
  const enc = encryptKeyPem(id.keyPem, kek);
  assert.ok(isEncryptedKeyPem(enc) && !isEncryptedKeyPem(id.keyPem));
  assert.match(enc, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
  const body = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, '');
  assert.ok(!enc.includes(body(id.keyPem)), 'the clear key\'s base64 is not in the file');
  const clear = decryptKeyPem(enc, kek, id.certPem);
  assert.ok(keyMatchesCertificate(clear, id.certPem));
  assert.throws(() => decryptKeyPem(enc, undefined, id.certPem), locked('locked'));
  assert.throws(() => decryptKeyPem(enc, generateUnlockKey(randomBytes), id.certPem), locked('invalid-key'));
  const other = await identity();
  assert.throws(() => decryptKeyPem(encryptKeyPem(other.keyPem, kek), kek, id.certPem), KeyMismatchError, 'another key, even under the right KEK');
  assert.equal(decryptKeyPem(id.keyPem, undefined), id.keyPem, 'a clear key file needs no KEK');
});

test('a key store with a KEK writes the key encrypted; a new store (a restart) is locked until unlocked with the right key', async () => {
  await withDir(async (dir) => {
    const id = await identity();
    const kek = generateUnlockKey(randomBytes);
    const ks = new KeyStore(dir);
    ks.setKek(kek);
    await ks.write(id);
    const onDisk = await readFile(ks.paths().key, 'utf8');
    assert.ok(isEncryptedKeyPem(onDisk) && !onDisk.includes('BEGIN PRIVATE KEY'));
    assert.equal((await stat(ks.paths().key)).mode & 0o777, 0o600);
    assert.equal((await ks.read())!.keyPem.trim(), decryptKeyPem(onDisk, kek).trim(), 'the store that has the KEK reads the clear key');

    const restarted = new KeyStore(dir);
    assert.equal(await restarted.encrypted(), true);
    await assert.rejects(restarted.read(), locked('locked'));
    await assert.rejects(restarted.unlock(generateUnlockKey(randomBytes)), locked('invalid-key'));
    await assert.rejects(restarted.read(), locked('locked'), 'a wrong key is not kept');
    const opened = await restarted.unlock(kek);
    assert.ok(keyMatchesCertificate(opened.keyPem, id.certPem));
    assert.equal(opened.certPem, id.certPem);
    assert.deepEqual(restarted.kek, kek);

    // a certificate renewal after the unlock writes the new key under the same KEK
    const renewed = await identity();
    await restarted.write(renewed);
    assert.ok(isEncryptedKeyPem(await readFile(ks.paths().key, 'utf8')));
    assert.ok(keyMatchesCertificate((await new KeyStore(dir).unlock(kek)).keyPem, renewed.certPem));
  });
});

test('rekey re-writes the key under a rotated unlock key (the old one no longer opens it), and in clear when autolock is off', async () => {
  await withDir(async (dir) => {
    const id = await identity();
    const k1 = generateUnlockKey(randomBytes);
    const k2 = generateUnlockKey(randomBytes);
    const ks = new KeyStore(dir);
    await ks.write(id);
    assert.equal(await ks.encrypted(), false);
    assert.equal(await ks.rekey(undefined), false, 'clear and no KEK: nothing to do');
    assert.equal(await ks.rekey(k1), true);
    assert.equal(await ks.rekey(k1), false, 'the same KEK again: nothing to do');
    assert.equal(await new KeyStore(dir).encrypted(), true);
    assert.equal(await ks.rekey(k2), true);
    await assert.rejects(new KeyStore(dir).unlock(k1), locked('invalid-key'));
    assert.ok(keyMatchesCertificate((await new KeyStore(dir).unlock(k2)).keyPem, id.certPem));
    assert.equal(await ks.rekey(undefined), true);
    const clear = await readFile(ks.paths().key, 'utf8');
    assert.ok(!isEncryptedKeyPem(clear) && keyMatchesCertificate(clear, id.certPem));
    assert.ok(keyMatchesCertificate((await new KeyStore(dir).read())!.keyPem, id.certPem), 'a restart reads it without a key');
  });
});

test('leaving the swarm (remove) forgets the KEK, so a later swarm writes its key in clear', async () => {
  await withDir(async (dir) => {
    const ks = new KeyStore(dir);
    ks.setKek(generateUnlockKey(randomBytes));
    await ks.write(await identity());
    await ks.remove();
    assert.equal(ks.kek, undefined);
    await ks.write(await identity());
    assert.equal(await ks.encrypted(), false);
  });
});
