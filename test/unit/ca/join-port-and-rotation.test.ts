// The managers' single port: a joiner without a certificate fetches the root and checks it against
// its token, then comes back with mutual TLS; a certificate from another CA gets no identity; the
// server's certificate is replaced at run time without a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { RootCA } from '../../../manager/ca/root-ca.js';
import { type Identity, type NodeRole, createKeyAndCSR } from '../../../manager/ca/identity.js';
import { channelCredentials, channelOptions, peerIdentity, type TlsIdentity } from '../../../manager/ca/tls-credentials.js';
import { CertificateSource, bootstrapChannelCredentials, rotatingServerCredentials } from '../../../manager/ca/tls-rotation.js';
import { generateJoinToken, secretOf } from '../../../manager/ca/join-token.js';
import { issueNodeCertificate, verifyFetchedRoot } from '../../../manager/ca/join-flow.js';

const NOW = new Date();
const id = (b: Buffer) => b;
const method = (name: string) => ({
  path: `/shoal.test.Ca/${name}`,
  requestStream: false as const,
  responseStream: false as const,
  requestSerialize: id,
  requestDeserialize: id,
  responseSerialize: id,
  responseDeserialize: id,
});
const service = { getRoot: method('GetRoot'), whoAmI: method('WhoAmI') } satisfies grpc.ServiceDefinition;
const Client = grpc.makeGenericClientConstructor(service, 'Ca');

async function nodeCert(ca: RootCA, nodeId: string, role: NodeRole): Promise<TlsIdentity> {
  const { keyPem, csrPem } = await createKeyAndCSR();
  return { keyPem, certPem: await ca.signCSR(csrPem, { nodeId, role, clusterId: 'cl', now: NOW }) };
}

function rpc(port: number, creds: grpc.ChannelCredentials, name: string): Promise<Buffer> {
  const client = new Client(`127.0.0.1:${port}`, creds, { ...channelOptions(), 'grpc.use_local_subchannel_pool': 1 });
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(`/shoal.test.Ca/${name}`, id, id, Buffer.alloc(0), { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res?: Buffer) =>
      err ? reject(err) : resolve(res!),
    );
  }).finally(() => client.close());
}

const whoAmI = async (port: number, creds: grpc.ChannelCredentials) => JSON.parse((await rpc(port, creds, 'WhoAmI')).toString()) as Identity;
const unauthenticated = (e: unknown) => (e as grpc.ServiceError).code === grpc.status.UNAUTHENTICATED;

test('join over one port: fetch and check the root without a certificate, then mutual TLS; foreign certificates get no identity; the server certificate rotates live', async () => {
  const ca = await RootCA.create({ clusterId: 'cl', now: NOW });
  const workerToken = generateJoinToken(ca.digest(), randomBytes);
  const managerToken = generateJoinToken(ca.digest(), randomBytes);
  const source = new CertificateSource(await nodeCert(ca, 'mgr1', 'manager'), ca.certPem);
  const server = new grpc.Server();
  server.addService(service, {
    getRoot: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(source.current().rootPem)),
    whoAmI: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      try {
        cb(null, Buffer.from(JSON.stringify(peerIdentity(call))));
      } catch (e) {
        cb({ code: grpc.status.UNAUTHENTICATED, details: (e as Error).message });
      }
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', rotatingServerCredentials(source, { requireClientCertificate: false }), (err, p) => (err ? reject(err) : resolve(p))),
  );
  try {
    // 1. the joiner has no certificate: it may fetch the root, and checks it against its token
    const fetched = (await rpc(port, bootstrapChannelCredentials(), 'GetRoot')).toString();
    assert.equal(verifyFetchedRoot(fetched, workerToken), ca.digest());
    await assert.rejects(whoAmI(port, bootstrapChannelCredentials()), unauthenticated);
    // 2. the CA signs its CSR (the RPC carrying it is the cluster issue's; here the pure part)
    const { keyPem, csrPem } = await createKeyAndCSR();
    const issued = await issueNodeCertificate({ token: workerToken, csrPem }, {
      workerSecret: secretOf(workerToken), managerSecret: secretOf(managerToken), ca, clusterId: 'cl',
      newNodeId: 'joiner1', now: NOW, isRemoved: () => false,
    });
    // 3. from now on it is mutual TLS, and the server knows who it is
    const me = await whoAmI(port, channelCredentials({ certPem: issued.certPem, keyPem }, fetched));
    assert.deepEqual([me.nodeId, me.role], ['joiner1', 'worker']);
    // a certificate from another CA passes the handshake on this port but carries no identity
    const other = await RootCA.create({ clusterId: 'cl', now: NOW });
    await assert.rejects(whoAmI(port, channelCredentials(await nodeCert(other, 'fake', 'manager'), ca.certPem)), unauthenticated);
    // 4. the manager's certificate is renewed: new connections see the new one, no restart
    source.update(await nodeCert(ca, 'mgr1-renewed', 'manager'));
    const again = await whoAmI(port, channelCredentials({ certPem: issued.certPem, keyPem }, ca.certPem, { nodeId: 'mgr1-renewed' }));
    assert.equal(again.nodeId, 'joiner1');
  } finally {
    server.forceShutdown();
  }
});
