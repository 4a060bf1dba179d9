/** Docker's jsonmessage progress lines for pull and push: per-layer ids, bars, and a byte-threshold throttle. */
export type Progress = (message: Record<string, unknown>) => void;

/** The 12-hex short id docker shows for a layer. */
export function shortId(d: string): string {
  return d.replace(/^sha256:/, '').slice(0, 12);
}

function human(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v}${units[i]}` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${units[i]}`;
}

/** The preformatted bar docker sends in `progress` ("[====>      ]  1.2MB/2.5MB"). */
export function progressBar(current: number, total: number): string {
  const width = 50;
  if (total <= 0) return `${human(current)}`;
  const filled = Math.min(width, Math.floor((current / total) * width));
  const bar = filled >= width ? '='.repeat(width) : `${'='.repeat(filled)}>${' '.repeat(width - filled - 1)}`;
  return `[${bar}] ${human(current).padStart(8)}/${human(total)}`;
}

/** A "Downloading"/"Pushing" line reporter that speaks at most every `step` bytes (and always at the end). */
export function byteReporter(onProgress: Progress, status: string, id: string, total: number, step = 256 * 1024): (current: number) => void {
  let last = -1;
  return (current) => {
    if (current !== total && last >= 0 && current - last < step) return;
    last = current;
    onProgress({ status, progressDetail: { current, total }, progress: progressBar(current, total), id });
  };
}
