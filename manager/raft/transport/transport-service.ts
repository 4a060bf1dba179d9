// The gRPC service definition of proto/raft-transport.proto, built by hand (no proto-loader).
import type * as grpc from '@grpc/grpc-js';
import {
  decodeBatch, decodeChunk, decodeSnapshotAck, encodeBatch, encodeChunk, encodeSnapshotAck, encodeStreamAck,
  type MessageBatch, type SnapshotAck, type SnapshotChunk,
} from './transport-wire.js';

export const MESSAGES_PATH = '/shoal.raft.transport.RaftTransport/Messages';
export const SNAPSHOT_PATH = '/shoal.raft.transport.RaftTransport/Snapshot';

export const serializeBatch = (b: MessageBatch): Buffer => encodeBatch(b);
export const serializeChunk = (c: SnapshotChunk): Buffer => encodeChunk(c);
export const deserializeStreamAck = (_b: Buffer): Record<string, never> => ({});
export const deserializeSnapshotAck = (b: Buffer): SnapshotAck => decodeSnapshotAck(b);

export function raftTransportService(): grpc.ServiceDefinition {
  return {
    Messages: {
      path: MESSAGES_PATH,
      requestStream: true,
      responseStream: false,
      requestSerialize: serializeBatch,
      requestDeserialize: (b: Buffer): MessageBatch => decodeBatch(b),
      responseSerialize: (_a: unknown): Buffer => encodeStreamAck(),
      responseDeserialize: deserializeStreamAck,
    },
    Snapshot: {
      path: SNAPSHOT_PATH,
      requestStream: true,
      responseStream: false,
      requestSerialize: serializeChunk,
      requestDeserialize: (b: Buffer): SnapshotChunk => decodeChunk(b),
      responseSerialize: (a: SnapshotAck): Buffer => encodeSnapshotAck(a),
      responseDeserialize: deserializeSnapshotAck,
    },
  };
}
