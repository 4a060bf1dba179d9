/** Docker's jsonmessage progress lines for pull and push: per-layer ids, bars, and a byte-threshold throttle. */
export type Progress = (message: Record<string, unknown>) => void;

/** The 12-hex short id docker shows for a layer. */
export function shortId(d: string): string {
  return d.replace(/^sha256:/, '').slice(0, 12);
}

/** go-units HumanSize: decimal units, 4 significant digits (Go's "%.4g"), no space ("1kB", "2.5MB", "12.35MB"). */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/**
 * The preformatted `progress` string dockerd sends (jsonmessage JSONProgress.String at its default
 * width): "[" + "=" × pct + ">" + " " × (50 − pct) + "] " then "%8v/%v" of the sizes, pct = ⌊cur/total·100⌋/2.
 */
export function progressBar(current: number, total: number): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const pct = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = `[${'='.repeat(pct)}>${' '.repeat(50 - pct)}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
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
