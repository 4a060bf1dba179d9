/** In-memory stand-ins for the engine's stores, enough to drive the REST API through inject(). */
import { PassThrough } from 'node:stream';
import { EventBus } from '../../../worker/engine/events.js';
import type { AttachOutput, ContainerPort, EngineApiDeps, ExecSession, LogEntry } from '../../../worker/engine/api/ports.js';

class FakeError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface FakeContainer {
  Id: string;
  Name: string;
  Tty: boolean;
  State: string;
  logs: LogEntry[];
  exitCode: number;
  exited: Promise<void>;
  exit: () => void;
}

async function* fromArray<T>(xs: T[]): AsyncGenerator<T> {
  for (const x of xs) yield x;
}

export function fakeContainers(): ContainerPort & { byId: Map<string, FakeContainer> } {
  const byId = new Map<string, FakeContainer>();
  const execs = new Map<string, { container: string; cmd: string[]; tty: boolean; exitCode: number | null }>();
  const find = (idOrName: string): FakeContainer => {
    for (const c of byId.values()) if (c.Id === idOrName || c.Name === idOrName || c.Id.startsWith(idOrName)) return c;
    throw new FakeError(404, `No such container: ${idOrName}`);
  };
  let n = 0;
  return {
    byId,
    async create(config, name) {
      const cfg = config as { Image: string; Tty?: boolean };
      if (cfg.Image !== 'busybox') throw new FakeError(404, `No such image: ${cfg.Image}:latest`);
      const id = (++n).toString(16).padStart(64, 'a');
      let exit!: () => void;
      const exited = new Promise<void>((r) => (exit = r));
      byId.set(id, { Id: id, Name: name ?? `c${n}`, Tty: cfg.Tty === true, State: 'created', logs: [], exitCode: 0, exited, exit });
      return { Id: id, Warnings: [] };
    },
    async start(id) {
      find(id).State = 'running';
    },
    async stop(id) {
      const c = find(id);
      c.State = 'exited';
      c.exit();
    },
    async kill(id) {
      const c = find(id);
      c.State = 'exited';
      c.exitCode = 137;
      c.exit();
    },
    async restart(id) {
      find(id).State = 'running';
    },
    async remove(id) {
      byId.delete(find(id).Id);
    },
    async wait(id) {
      const c = find(id);
      await c.exited;
      return { StatusCode: c.exitCode };
    },
    inspect(id) {
      const c = find(id);
      return { Id: c.Id, Name: `/${c.Name}`, Config: { Tty: c.Tty }, State: { Status: c.State, Running: c.State === 'running' } };
    },
    list(opts) {
      return [...byId.values()].filter((c) => opts.all || c.State === 'running').map((c) => ({ Id: c.Id, Names: [`/${c.Name}`], State: c.State }));
    },
    logs(id, opts) {
      const c = find(id);
      return fromArray(c.logs.filter((l) => (l.stream === 'stdout' ? opts.stdout : opts.stderr)));
    },
    attach(id) {
      const c = find(id);
      const stdin = new PassThrough();
      async function* echo(): AsyncGenerator<AttachOutput> {
        for await (const chunk of stdin) yield { stream: 'stdout', data: Buffer.from(String(chunk).toUpperCase()) };
        yield { stream: 'stderr', data: Buffer.from('bye\n') };
      }
      void c;
      return { stdin, output: echo() };
    },
    execCreate(id, body) {
      const c = find(id);
      const b = body as { Cmd: string[]; Tty?: boolean };
      const execId = `e${execs.size + 1}`.padEnd(64, '0');
      execs.set(execId, { container: c.Id, cmd: b.Cmd, tty: b.Tty === true, exitCode: null });
      return { Id: execId };
    },
    execStart(execId) {
      const e = execs.get(execId);
      if (!e) throw new FakeError(404, `No such exec instance: ${execId}`);
      const session: ExecSession = {
        output: fromArray<AttachOutput>([
          { stream: 'stdout', data: Buffer.from(`${e.cmd.join(' ')}\n`) },
          { stream: 'stderr', data: Buffer.from('warn\n') },
        ]),
        wait: async () => {
          e.exitCode = 3;
          return 3;
        },
      };
      e.exitCode = 3;
      return session;
    },
    execInspect(execId) {
      const e = execs.get(execId);
      if (!e) throw new FakeError(404, `No such exec instance: ${execId}`);
      return { ID: execId, Running: false, ExitCode: e.exitCode, ProcessConfig: { tty: e.tty } };
    },
    stats(id) {
      find(id);
      return { read: new Date().toISOString(), memory_stats: { usage: 1 } };
    },
  };
}

export function fakeDeps(extra: Partial<EngineApiDeps> = {}): EngineApiDeps {
  return {
    events: new EventBus(),
    info: { name: 'test', dataRoot: '/tmp/x', execRoot: '/tmp/y', runtime: 'runc', version: '0.1.0', startedAt: new Date(0) },
    ...extra,
  };
}
