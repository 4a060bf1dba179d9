/**
 * The Control service (proto/control.proto): a follower forwards a control REST request (swarm, nodes,
 * services, tasks, secrets, configs) to the leader as one unary call over mutual TLS, with the caller's
 * identity; the leader runs it through its control app and answers status, headers and body. Only
 * managers of this cluster may call it.
 */
import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { authorize } from './caller.js';
import { isRecord, jsonService, requestOf, rpcHandler, RpcError, str } from './grpc-json.js';
import type { LeaderForwarder } from './leader-forwarder.js';

export const CONTROL_SERVICE = 'shoal.control.Control';
export const FORWARD_PATH = `/${CONTROL_SERVICE}/ForwardHttp`;
const FORWARD_DEADLINE_MS = 60_000;

export interface ForwardRequest {
  method: string;
  url: string;
  contentType?: string;
  body?: string;
}

export interface ForwardResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE']);

export interface ControlForwardDeps {
  clusterId: string;
  forwarder: LeaderForwarder;
  isRemoved: (nodeId: string) => boolean;
  /** the control app (present while this node is a manager) */
  app: () => FastifyInstance | undefined;
}

export async function injectControl(app: FastifyInstance, r: ForwardRequest, forwardedBy?: string): Promise<ForwardResponse> {
  const res = await app.inject({
    method: r.method as 'GET',
    url: r.url,
    headers: { ...(r.contentType ? { 'content-type': r.contentType } : {}), ...(forwardedBy ? { 'x-shoal-forwarded-by': forwardedBy } : {}) },
    ...(r.body !== undefined && r.body !== '' ? { payload: r.body } : {}),
  });
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string' && k !== 'content-length' && k !== 'connection' && k !== 'date') headers[k] = v;
  return { status: res.statusCode, headers, body: res.body };
}

export function controlForwardService(deps: ControlForwardDeps): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
  const implementation: grpc.UntypedServiceImplementation = {
    ForwardHttp: rpcHandler(async (call) => {
      const caller = authorize(call, { roles: ['manager'], clusterId: deps.clusterId, isRemoved: deps.isRemoved });
      const req = requestOf(call);
      const method = str(req, 'method');
      if (!METHODS.has(method)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `method: ${method} is not forwarded`);
      const url = str(req, 'url');
      if (!url.startsWith('/')) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'url: must be a path');
      const r: ForwardRequest = {
        method, url,
        ...(typeof req.contentType === 'string' ? { contentType: req.contentType } : {}),
        ...(typeof req.body === 'string' ? { body: req.body } : {}),
      };
      return deps.forwarder.run(FORWARD_PATH, r, caller, async () => {
        const app = deps.app();
        if (!app) throw new RpcError(grpc.status.UNAVAILABLE, 'this manager is stopping');
        return injectControl(app, r, caller.forwardedBy ?? caller.nodeId);
      }, FORWARD_DEADLINE_MS);
    }),
  };
  return { definition: jsonService(CONTROL_SERVICE, ['ForwardHttp']), implementation };
}

/** Checks a forwarded answer's shape (it crossed the wire). */
export function parseForwardResponse(v: unknown): ForwardResponse {
  if (!isRecord(v) || typeof v.status !== 'number' || typeof v.body !== 'string') throw new Error('malformed forwarded response');
  const headers: Record<string, string> = {};
  if (isRecord(v.headers)) for (const [k, x] of Object.entries(v.headers)) if (typeof x === 'string') headers[k] = x;
  return { status: v.status, headers, body: v.body };
}
