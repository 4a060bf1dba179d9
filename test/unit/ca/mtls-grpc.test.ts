// Real TLS gRPC on 127.0.0.1: the server learns the caller's identity from its certificate, and both
// sides refuse certificates that do not chain to the cluster root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { RootCA } from '../../../manager/ca/root-ca.js';
import { type Identity, type NodeRole, createKeyAndCSR } from '../../../manager/ca/identity.js';
import { authorizeCaller, channelCredentials, channelOptions, peerIdentity, serverCredentials, type TlsIdentity } from '../../../manager/ca/tls-credentials.js';
import { CertificateAuthorityError } from '../../../manager/ca/ca-error.js';

const NOW = new Date();
const id = (b: Buffer) => b;
const service = {
  managersOnly: {
    path: '/shoal.test.Who/ManagersOnly',
    requestStream: false,
    responseStream: false,
    requestSerialize: id,
    requestDeserialize: id,
    responseSerialize: id,
    responseDeserialize: id,
  },
  whoAmI: {
    path: '/shoal.test.Who/WhoAmI',
    requestStream: false,
    responseStream: false,
    requestSerialize: id,
    requestDeserialize: id,
    responseSerialize: id,
    responseDeserialize: id,
  },
} satisfies grpc.ServiceDefinition;

async function nodeCert(ca: RootCA, nodeId: string, role: NodeRole): Promise<TlsIdentity> {
  const { keyPem, csrPem } = await createKeyAndCSR();
  return { keyPem, certPem: await ca.signCSR(csrPem, { nodeId, role, clusterId: 'cl', now: NOW }) };
}

async function startServer(ca: RootCA, serverId: TlsIdentity): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(service, {
    managersOnly: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      try {
        const who = authorizeCaller(call, { roles: ['manager'], clusterId: 'cl', isRemoved: (n) => n === 'removed1' });
        cb(null, Buffer.from(who.nodeId));
      } catch (e) {
        const denied = e instanceof CertificateAuthorityError && e.status === 403;
        cb({ code: denied ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED, details: (e as Error).message });
      }
    },
    whoAmI: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      try {
        cb(null, Buffer.from(JSON.stringify(peerIdentity(call))));
      } catch (e) {
        cb({ code: grpc.status.UNAUTHENTICATED, details: (e as Error).message });
      }
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', serverCredentials(serverId, ca.certPem), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

const Client = grpc.makeGenericClientConstructor(service, 'Who');

function raw(port: number, creds: grpc.ChannelCredentials, path: string): Promise<Buffer> {
  const client = new Client(`127.0.0.1:${port}`, creds, channelOptions());
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(path, id, id, Buffer.alloc(0), { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res?: Buffer) => {
      if (err) reject(err);
      else resolve(res!);
    });
  }).finally(() => client.close());
}

async function call(port: number, creds: grpc.ChannelCredentials): Promise<Identity> {
  return JSON.parse((await raw(port, creds, '/shoal.test.Who/WhoAmI')).toString()) as Identity;
}

async function withServer(fn: (ctx: { ca: RootCA; port: number }) => Promise<void>): Promise<void> {
  const ca = await RootCA.create({ clusterId: 'cl', now: NOW });
  const { server, port } = await startServer(ca, await nodeCert(ca, 'mgr1', 'manager'));
  try {
    await fn({ ca, port });
  } finally {
    server.forceShutdown();
  }
}

const unavailable = (e: unknown) => (e as grpc.ServiceError).code === grpc.status.UNAVAILABLE;

test('over mTLS the server identifies a worker caller as a worker (and a manager as a manager) from its certificate', async () => {
  await withServer(async ({ ca, port }) => {
    const w = await call(port, channelCredentials(await nodeCert(ca, 'worker7', 'worker'), ca.certPem, { clusterId: 'cl' }));
    assert.deepEqual([w.nodeId, w.role, w.clusterId], ['worker7', 'worker', 'cl']);
    const m = await call(port, channelCredentials(await nodeCert(ca, 'mgr2', 'manager'), ca.certPem));
    assert.deepEqual([m.nodeId, m.role], ['mgr2', 'manager']);
  });
});

test('a client certificate from another CA is rejected at the handshake', async () => {
  await withServer(async ({ ca, port }) => {
    const other = await RootCA.create({ clusterId: 'cl', now: NOW });
    await assert.rejects(call(port, channelCredentials(await nodeCert(other, 'intruder', 'manager'), ca.certPem)), unavailable);
  });
});

test('a client with no certificate is rejected at the handshake', async () => {
  await withServer(async ({ ca, port }) => {
    const creds = grpc.credentials.createSsl(Buffer.from(ca.certPem), null, null, { checkServerIdentity: () => undefined });
    await assert.rejects(call(port, creds), unavailable);
  });
});

test('the client refuses a server from another CA, and a server whose certificate is not a manager\'s', async () => {
  await withServer(async ({ ca, port }) => {
    const other = await RootCA.create({ clusterId: 'cl', now: NOW });
    // trusts only `other`: the server's chain does not verify
    await assert.rejects(call(port, channelCredentials(await nodeCert(other, 'w', 'worker'), other.certPem)), unavailable);
    // the server is a manager of cluster 'cl': asking for another cluster fails the identity check
    await assert.rejects(call(port, channelCredentials(await nodeCert(ca, 'w', 'worker'), ca.certPem, { clusterId: 'elsewhere' })), unavailable);
  });
  const ca = await RootCA.create({ clusterId: 'cl', now: NOW });
  const { server, port } = await startServer(ca, await nodeCert(ca, 'wsrv', 'worker'));
  try {
    await assert.rejects(call(port, channelCredentials(await nodeCert(ca, 'c', 'worker'), ca.certPem)), unavailable);
    const ok = await call(port, channelCredentials(await nodeCert(ca, 'c', 'worker'), ca.certPem, { serverRoles: ['worker'] }));
    assert.equal(ok.nodeId, 'c');
  } finally {
    server.forceShutdown();
  }
});

test('authorizeCaller lets a manager through and denies a worker or a removed node (PERMISSION_DENIED)', async () => {
  await withServer(async ({ ca, port }) => {
    const path = '/shoal.test.Who/ManagersOnly';
    const ok = await raw(port, channelCredentials(await nodeCert(ca, 'm5', 'manager'), ca.certPem), path);
    assert.equal(ok.toString(), 'm5');
    const denied = (e: unknown) => (e as grpc.ServiceError).code === grpc.status.PERMISSION_DENIED;
    await assert.rejects(raw(port, channelCredentials(await nodeCert(ca, 'w5', 'worker'), ca.certPem), path), denied);
    await assert.rejects(raw(port, channelCredentials(await nodeCert(ca, 'removed1', 'manager'), ca.certPem), path), denied);
  });
});
