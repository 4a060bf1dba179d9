/**
 * RUN steps run in real containers of the engine: created from the build's intermediate image, their
 * output followed from the start, waited for, and their upper directory read before removal. This
 * adapts the engine's container port (the REST API's view of the container manager) to that use.
 */
import type { ContainerPort } from '../api/ports.js';
import { BuildError, messageOf } from './build-error.js';

export interface RunSpec {
  image: string;
  argv: string[];
  env: string[];
  user?: string;
  workdir?: string;
  /** Docker's network mode for RUN (default "bridge") */
  network?: string;
}

export interface RunningStep {
  id: string;
  /** resolves with the exit code once the output has ended */
  finished: Promise<number>;
  /** the container's overlay upper dir (valid until remove) */
  upperDir(): string;
  remove(): Promise<void>;
}

export interface StepContainers {
  /** `onCreated` runs before the container starts (so " ---> Running in" precedes its output). */
  start(spec: RunSpec, onOutput: (data: Buffer) => void, onCreated?: (id: string) => void): Promise<RunningStep>;
}

/** The label every RUN container carries (a restarted daemon removes the ones a crash left). */
export const STEP_LABEL = 'io.shoal.build.step';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function stepContainers(c: ContainerPort): StepContainers {
  return {
    async start(spec, onOutput, onCreated) {
      const body = {
        Image: spec.image,
        Cmd: spec.argv,
        Entrypoint: [''],
        Env: spec.env,
        User: spec.user ?? '',
        WorkingDir: spec.workdir ?? '',
        Healthcheck: { Test: ['NONE'] },
        AttachStdout: true,
        AttachStderr: true,
        Labels: { [STEP_LABEL]: 'true' },
        HostConfig: { NetworkMode: spec.network ?? 'bridge' },
      };
      const created = await c.create(body);
      const id = isRecord(created) && typeof created['Id'] === 'string' ? created['Id'] : undefined;
      if (id === undefined) throw new BuildError(500, 'the engine created a container without an Id');
      const remove = async (): Promise<void> => {
        await c.remove(id, { force: true, v: true });
      };
      try {
        const session = await c.attach(id, { stdin: false, stdout: true, stderr: true, stream: true });
        onCreated?.(id);
        await c.start(id);
        const finished = (async () => {
          for await (const chunk of session.output) onOutput(chunk.data);
          const w = await c.wait(id, 'not-running');
          return isRecord(w) && typeof w['StatusCode'] === 'number' ? w['StatusCode'] : -1;
        })();
        const upperDir = (): string => {
          const info = c.inspect(id);
          const data = isRecord(info) && isRecord(info['GraphDriver']) && isRecord(info['GraphDriver']['Data']) ? info['GraphDriver']['Data'] : {};
          const upper = data['UpperDir'];
          if (typeof upper !== 'string') throw new BuildError(500, `container ${id.slice(0, 12)} has no upper dir`);
          return upper;
        };
        return { id, finished, upperDir, remove };
      } catch (e) {
        await remove().catch(() => undefined);
        throw new BuildError(500, `starting the RUN container failed: ${messageOf(e)}`, { cause: e });
      }
    },
  };
}
