/** Who waits for a container's next exit or its removal (wait conditions, stop, attach, log follow). */
export class ExitWaiters {
  private readonly exits = new Map<string, ((code: number) => void)[]>();
  private readonly removals = new Map<string, (() => void)[]>();
  private readonly starts = new Map<string, (() => void)[]>();

  /** Resolves when the container next starts. */
  nextStart(id: string): Promise<void> {
    return new Promise((resolve) => this.starts.set(id, [...(this.starts.get(id) ?? []), resolve]));
  }

  started(id: string): void {
    const ws = this.starts.get(id) ?? [];
    this.starts.delete(id);
    for (const w of ws) w();
  }

  /** Resolves at the container's next exit (or removal) with its exit code. */
  nextExit(id: string): Promise<number> {
    return new Promise((resolve) => this.exits.set(id, [...(this.exits.get(id) ?? []), resolve]));
  }

  removed(id: string): Promise<void> {
    return new Promise((resolve) => this.removals.set(id, [...(this.removals.get(id) ?? []), resolve]));
  }

  exited(id: string, code: number): void {
    const ws = this.exits.get(id) ?? [];
    this.exits.delete(id);
    for (const w of ws) w(code);
  }

  gone(id: string, lastCode: number): void {
    const ws = this.removals.get(id) ?? [];
    this.removals.delete(id);
    for (const w of ws) w();
    this.exited(id, lastCode);
  }
}

/** True when `exited` settles within `ms`. */
export async function settlesWithin(exited: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const ok = await Promise.race([exited.then(() => true as const), timeout]);
  if (timer) clearTimeout(timer);
  return ok;
}
