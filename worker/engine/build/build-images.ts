/**
 * The builder's intermediate images, visible to the container manager only: a RUN step's container
 * is created from the state the build has reached (its config and unpacked layer dirs), which is not
 * an image of the store until the build commits it. `overlay(store)` is what the engine hands the
 * container manager: the store first, then the intermediate images of running builds.
 */
import type { ContainerImages, ImageLike } from '../container/types.js';

export interface IntermediateImage extends ImageLike {
  /** unpacked layer dirs, top layer first */
  lowerDirs: string[];
}

export class BuildImages {
  private readonly images = new Map<string, IntermediateImage>();
  /** builds holding each image (two builds may reach the same state) */
  private readonly holders = new Map<string, number>();

  add(img: IntermediateImage): void {
    this.images.set(img.id, img);
    this.holders.set(img.id, (this.holders.get(img.id) ?? 0) + 1);
  }

  /** Releases one hold; the image goes when the last build holding it lets go. */
  delete(id: string): void {
    const n = (this.holders.get(id) ?? 0) - 1;
    if (n > 0) {
      this.holders.set(id, n);
      return;
    }
    this.holders.delete(id);
    this.images.delete(id);
  }

  get(id: string): IntermediateImage | undefined {
    return this.images.get(id);
  }

  /** The container manager's view: `base` (the image store) first, then these. */
  overlay(base: ContainerImages): ContainerImages {
    return {
      resolve: (refOrId) => base.resolve(refOrId) ?? this.images.get(refOrId),
      lowerDirs: (imageId) => {
        const mine = this.images.get(imageId);
        return mine !== undefined && base.resolve(imageId) === undefined ? mine.lowerDirs : base.lowerDirs(imageId);
      },
    };
  }
}

const perStore = new WeakMap<object, BuildImages>();

/** The one registry that belongs to an image store (the engine and its build route share it). */
export function buildImagesOf(store: object): BuildImages {
  let b = perStore.get(store);
  if (b === undefined) {
    b = new BuildImages();
    perStore.set(store, b);
  }
  return b;
}
