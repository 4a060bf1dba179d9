/**
 * GET /distribution/{name}/json against a registry on 127.0.0.1 (a small fastify serving an OCI index):
 * the docker CLI pins `service create` to the index digest and copies its platforms into the placement;
 * the scheduler still places the tasks (amd64 matches x86_64 nodes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { SimCluster } from './sim-cluster.js';
import { buildServiceApi } from './api-server.js';

const INDEX = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 400, platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 400, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ],
  }),
);
const DIGEST = `sha256:${createHash('sha256').update(INDEX).digest('hex')}`;

test('docker service create pins the image to the registry digest and its platforms', async () => {
  const registry = Fastify({ logger: false });
  registry.get('/v2/app/manifests/:ref', async (req, reply) => {
    const { ref } = req.params as { ref: string };
    if (ref !== '1.0' && ref !== DIGEST) return reply.status(404).send({ errors: [{ code: 'MANIFEST_UNKNOWN' }] });
    return reply.header('Content-Type', 'application/vnd.oci.image.index.v1+json').send(INDEX);
  });
  await registry.listen({ host: '127.0.0.1', port: 0 });
  const port = (registry.server.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'shoal-svc-dist-'));
  const sock = join(dir, 'api.sock');
  const c = new SimCluster();
  await c.start();
  const app = buildServiceApi(c.store);
  try {
    await c.addNode('distnode1');
    await app.listen({ path: sock });
    const direct = await app.inject({ method: 'GET', url: `/v1.41/distribution/127.0.0.1:${port}/app:1.0/json` });
    assert.equal(direct.statusCode, 200, direct.body);
    assert.deepEqual(direct.json(), {
      Descriptor: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: DIGEST, size: INDEX.length },
      Platforms: [{ architecture: 'amd64', os: 'linux' }, { architecture: 'arm64', os: 'linux', variant: 'v8' }],
    });
    const missing = await app.inject({ method: 'GET', url: `/distribution/127.0.0.1:${port}/nosuch:1/json` });
    assert.equal(missing.statusCode, 404);
    assert.match(missing.json<{ message: string }>().message, /not found/);

    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('docker', ['service', 'create', '-d', '--name', 'pinned', `127.0.0.1:${port}/app:1.0`], { env: { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(dir, 'cfg') }, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
    });
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stderr, /could not be accessed on a registry/);
    const svc = c.store.view((tx) => tx.lookup('services', 'pinned'));
    assert.equal(svc.Spec.TaskTemplate.ContainerSpec.Image, `127.0.0.1:${port}/app:1.0@${DIGEST}`);
    assert.deepEqual(
      svc.Spec.TaskTemplate.Placement?.Platforms?.map((p) => `${p.OS}/${p.Architecture}`),
      ['linux/amd64', 'linux/arm64'],
    );
    await c.until('running on the x86_64 node', () => c.running(svc.ID).length === 1);
  } finally {
    await app.close();
    await c.stop();
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
