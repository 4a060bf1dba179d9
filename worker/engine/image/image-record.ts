/** What the store knows about one image, as the rest of the engine sees it. */
import type { OciImageConfig } from './oci-types.js';

export interface ImageLayerRef {
  diffId: string;
  chainId: string;
  /** The unpacked layer directory (an overlay lower dir). */
  dir: string;
}

export interface ImageRecord {
  /** "sha256:<config digest>" */
  id: string;
  /** Familiar "name:tag" references, sorted. */
  repoTags: string[];
  /** "name@sha256:<manifest digest>" for images that came from a registry (empty otherwise). */
  repoDigests: string[];
  config: OciImageConfig;
  manifestDigest: string;
  /** Sum of the layers' unpacked file sizes. */
  size: number;
  /** The config's `created`, or "" when the image does not say. */
  created: string;
  /** Bottom layer first, as in the config's diff_ids. */
  layers: ImageLayerRef[];
  /** When a tag last moved onto this image (Docker's Metadata.LastTagTime), or "". */
  lastTagTime: string;
}
