/**
 * Creates a container's record and filesystem: image lookup, process plan, mounts, overlay snapshot,
 * user from the image's passwd, volumes. All or nothing: a failure removes what this call made.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { mountSnapshot, prepareSnapshot, removeSnapshot, snapshotPaths } from '../snapshot/overlay-snapshot.js';
import type { VolumeStore } from '../volume/volume-store.js';
import type { ContainerStore } from './container-store.js';
import { imageRunConfig, planProcess } from './create-plan.js';
import { asEngineError, notFound } from './errors.js';
import { materializeVolumes, planMounts } from './mounts.js';
import type { ContainerCreateBody, ContainerImages, ContainerRecord } from './types.js';
import { resolveUser } from './user.js';

export interface CreateDeps {
  store: ContainerStore;
  images: ContainerImages;
  volumes: VolumeStore;
}

/** Builds, persists and returns the record of a new container (the body is already validated). */
export async function createContainer(body: ContainerCreateBody, name: string, d: CreateDeps): Promise<ContainerRecord> {
  let dir: string | undefined;
  try {
    const img = d.images.resolve(body.Image ?? '');
    if (!img) throw notFound(`No such image: ${body.Image ?? ''}`);
    const imgCfg = imageRunConfig(img);
    const id = randomBytes(32).toString('hex');
    const proc = planProcess(id, body, imgCfg);
    const mounts = await planMounts(body, imgCfg);
    dir = d.store.dir(id);
    await mkdir(dir, { recursive: true });
    await prepareSnapshot(dir, d.images.lowerDirs(img.id));
    await mountSnapshot(dir);
    const user = await resolveUser(snapshotPaths(dir).rootfs, body.User && body.User !== '' ? body.User : imgCfg.User);
    const r: ContainerRecord = {
      version: 1,
      id,
      name,
      created: new Date().toISOString(),
      imageRef: body.Image ?? '',
      imageId: img.id,
      config: { ...body, Healthcheck: body.Healthcheck ?? imgCfg.Healthcheck, StopSignal: body.StopSignal ?? imgCfg.StopSignal },
      ...proc,
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids, spec: user.spec },
      mounts: await materializeVolumes(mounts, d.volumes),
      state: { status: 'created', pid: 0, conmonPid: 0, exitCode: 0, error: '', oomKilled: false, startedAt: '', finishedAt: '' },
      restartCount: 0,
      manualStop: false,
      hasBeenStarted: false,
    };
    await d.store.save(r);
    return r;
  } catch (e) {
    if (dir) {
      await removeSnapshot(dir).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
    throw asEngineError(e);
  }
}
