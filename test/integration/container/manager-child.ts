/**
 * Child process for the daemon-restart test: opens a ContainerManager on the given roots, creates and
 * starts the containers it is told to, prints their ids as one JSON line, then idles until SIGKILLed.
 */
import { ContainerManager } from '../../../worker/engine/container/container-manager.js';
import { VolumeStore } from '../../../worker/engine/volume/volume-store.js';
import { BusyboxImages, NoneNetworking } from './engine-fixture.js';
import { join } from 'node:path';

interface ChildArgs {
  dataRoot: string;
  execRoot: string;
  prefix: string;
  layer: string;
  cmds: string[][];
}

async function main(): Promise<void> {
  const raw: unknown = JSON.parse(process.argv[2] ?? '{}');
  const a = raw as ChildArgs;
  const mgr = await ContainerManager.open({
    dataRoot: a.dataRoot,
    execRoot: a.execRoot,
    prefix: a.prefix,
    images: new BusyboxImages([a.layer]),
    networks: new NoneNetworking(a.prefix),
    volumes: await VolumeStore.open(join(a.dataRoot, 'volumes')),
  });
  const ids: string[] = [];
  for (const cmd of a.cmds) {
    const { Id } = await mgr.create({ Image: 'busybox', Cmd: cmd, HostConfig: { NetworkMode: 'none' } });
    await mgr.start(Id);
    ids.push(Id);
  }
  process.stdout.write(JSON.stringify(ids) + '\n');
  setInterval(() => undefined, 1_000_000);
}

void main().catch((e: unknown) => {
  process.stderr.write(String(e instanceof Error ? e.stack : e) + '\n');
  process.exit(1);
});
