/**
 * The node-local swarm operations of the engine API: POST /swarm/init (answers the node ID as a JSON
 * string), POST /swarm/join, POST /swarm/leave?force, POST /swarm/unlock {UnlockKey}. Handled on every
 * node (no manager needed: a locked manager has none running); errors carry Docker's status codes and
 * messages.
 */
import type { FastifyPluginAsync } from 'fastify';

export interface SwarmLifecycle {
  init(body: unknown): Promise<string>;
  join(body: unknown): Promise<void>;
  leave(force: boolean): Promise<void>;
  /** autolock: the body is Docker's UnlockRequest {UnlockKey: "SWMKEY-1-…"} */
  unlock(body: unknown): Promise<void>;
  readonly localState: string;
}

const truthy = (v: unknown): boolean => v === '1' || v === 'true' || v === 'True';

export function swarmLifecycleRoutes(node: SwarmLifecycle): FastifyPluginAsync {
  return async (app) => {
    app.post('/swarm/init', async (req, reply) => {
      const id = await node.init(req.body);
      return reply.status(200).header('Content-Type', 'application/json').send(JSON.stringify(id));
    });
    app.post('/swarm/join', async (req, reply) => {
      await node.join(req.body);
      return reply.status(200).send();
    });
    app.post('/swarm/leave', async (req, reply) => {
      await node.leave(truthy((req.query as Record<string, unknown>).force));
      return reply.status(200).send();
    });
    app.post('/swarm/unlock', async (req, reply) => {
      await node.unlock(req.body);
      return reply.status(200).send();
    });
  };
}
