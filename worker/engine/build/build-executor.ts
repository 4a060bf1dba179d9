/**
 * The classic builder: the stages of a Dockerfile run in order on the engine, one step per
 * instruction, each step's result remembered in the build cache (key: the parent state, the
 * instruction as expanded and, for COPY/ADD, the checksum of what it copies). RUN runs in a real
 * container; COPY, ADD and WORKDIR change a mounted overlay snapshot; each of these makes a layer from
 * the upper directory. Output is Docker's build jsonmessage stream. The image reaches the store only
 * when every step has succeeded, so a failed build leaves no image behind.
 */
import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { JsonMessage } from '../api/jsonmessage.js';
import type { Digest } from '../image/digest.js';
import type { ImageRecord } from '../image/image-record.js';
import type { ImageStore } from '../image/image-store.js';
import type { OciContainerConfig } from '../image/oci-types.js';
import type { BuildImages } from './build-images.js';
import { BuildError, messageOf } from './build-error.js';
import { commitImage } from './build-commit.js';
import type { BuildContext } from './build-context.js';
import type { BuildStore } from './build-store.js';
import {
  applyMetadata,
  argvOf,
  containerConfig,
  containerPath,
  envMap,
  expansionEnv,
  isMetadata,
  nextState,
  scratchState,
  StepError,
  withConfig,
  type BuildState,
} from './build-state.js';
import { DockerfileError } from './dockerfile-error.js';
import { parseInstruction, type ArgInstruction, type CopyInstruction, type Instruction, type RunInstruction } from './dockerfile-instructions.js';
import { parseDockerfile, stageRef, stagesUpTo, type Dockerfile, type Stage } from './dockerfile.js';
import { checksumSources, copySources, findSources, mkdirInRoot, resolveChown, type Source } from './fs-copy.js';
import { addFromUrl, extractArchive, isArchive, isUrl } from './add-sources.js';
import { withSnapshot, layerFromUpper, runExclusions } from './step-snapshot.js';
import { processWord, ShellLexError } from './shell-lex.js';
import type { StepContainers } from './step-containers.js';

export interface BuildOptions {
  tags: string[];
  buildArgs: Map<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  labels: Record<string, string>;
  platform?: string;
  network?: string;
  /** aborts the build (the client went away): no further step starts, a running RUN is killed */
  signal?: AbortSignal;
}

export interface BuildDeps {
  images: ImageStore;
  store: BuildStore;
  buildImages: BuildImages;
  containers: StepContainers;
  /** the time every step records (an input, so tests can fix it) */
  now: () => Date;
  arch: string;
  pull(ref: string, onProgress: (m: Record<string, unknown>) => void, platform?: string): Promise<ImageRecord>;
}

/** Build args dockerd accepts without an ARG line, kept out of the cache key and the history. */
const PROXY_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);

const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

function keyOf(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${p}\0`);
  return h.digest('hex');
}

interface StageResult {
  state: BuildState;
}

class Run {
  private step = 0;
  private readonly total: number;
  private readonly consumed = new Set<string>();
  private readonly globalArgs = new Map<string, string>();
  private readonly results = new Map<number, StageResult>();
  private readonly registered = new Set<string>();

  constructor(
    private readonly df: Dockerfile,
    private readonly stages: Stage[],
    private readonly ctx: BuildContext,
    private readonly o: BuildOptions,
    private readonly d: BuildDeps,
    private readonly emit: (m: JsonMessage) => void,
  ) {
    const labelStep = Object.keys(o.labels).length > 0 ? 1 : 0;
    this.total = stages.reduce((n, s) => n + 1 + s.instructions.length, 0) + labelStep;
  }

  private out(text: string): void {
    this.emit({ stream: text });
  }

  private fail(line: number, e: unknown): never {
    if (e instanceof DockerfileError) throw e;
    const msg = e instanceof ShellLexError || e instanceof StepError || e instanceof BuildError ? e.message : messageOf(e);
    throw new DockerfileError(this.df.file, line, msg);
  }

  private word(w: string, vars: ReadonlyMap<string, string>): string {
    return processWord(w, vars, this.df.directives.escape);
  }

  async execute(): Promise<BuildState> {
    for (const a of this.df.globalArgs) this.declareArgs(a, this.globalArgs, new Map(), undefined);
    let last: BuildState | undefined;
    for (const stage of this.stages) {
      last = await this.runStage(stage, stage === this.stages[this.stages.length - 1]);
      this.results.set(stage.index, { state: last });
    }
    const unused = [...this.o.buildArgs.keys()].filter((k) => !this.consumed.has(k) && !PROXY_ARGS.has(k));
    if (unused.length > 0) this.out(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
    return last!;
  }

  /** Cleans up the intermediate images this run registered. */
  dispose(): void {
    for (const id of this.registered) this.d.buildImages.delete(id);
  }

  private declareArgs(ins: ArgInstruction, into: Map<string, string>, env: ReadonlyMap<string, string>, fromGlobal: Map<string, string> | undefined): void {
    for (const a of ins.args) {
      this.consumed.add(a.name);
      const given = this.o.buildArgs.get(a.name);
      if (given !== undefined) into.set(a.name, given);
      else if (a.value !== undefined) into.set(a.name, this.word(a.value, new Map([...into, ...env])));
      else if (fromGlobal?.has(a.name)) into.set(a.name, fromGlobal.get(a.name)!);
    }
  }

  private async fromState(stage: Stage): Promise<BuildState> {
    const ref = this.word(stage.from.image, this.globalArgs);
    if (ref === '') throw new StepError(`base name (${stage.from.image}) should not be blank`);
    if (ref.toLowerCase() === 'scratch') return scratchState(this.d.arch);
    const prev = stageRef(this.stages, ref, stage.index);
    if (prev !== undefined && !/^\d+$/.test(ref)) return this.results.get(prev.index)!.state;
    const platform = stage.from.platform !== undefined ? this.word(stage.from.platform, this.globalArgs) : this.o.platform;
    return this.imageState(ref, platform);
  }

  private async imageState(ref: string, platform: string | undefined): Promise<BuildState> {
    let rec = this.o.pull ? undefined : this.d.images.resolve(ref);
    if (rec === undefined) {
      rec = await this.d.pull(ref, (m) => this.emit(m as JsonMessage), platform);
    }
    const docs = this.d.images.documents(rec.id);
    return { id: rec.id as Digest, config: JSON.parse(JSON.stringify(docs.config)) as BuildState['config'], layers: docs.manifest.layers };
  }

  private async runStage(stage: Stage, isLast: boolean): Promise<BuildState> {
    this.step++;
    this.out(`Step ${this.step}/${this.total} : ${stage.from.original}\n`);
    let state: BuildState;
    try {
      state = await this.fromState(stage);
    } catch (e) {
      this.fail(stage.from.line, e);
    }
    this.out(` ---> ${short(state.id)}\n`);
    const args = new Map<string, string>();
    const sc = { cmdSet: false };
    const triggers = containerConfig(state).OnBuild ?? [];
    if (triggers.length > 0) {
      this.out(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
      const cfg = { ...containerConfig(state), OnBuild: null };
      state = withConfig({ ...state.config, config: cfg }, state.layers);
      for (const t of triggers) {
        const m = /^(\S+)\s*([\s\S]*)$/.exec(t);
        if (m === null) continue;
        const ins = parseInstruction({ keyword: m[1]!.toUpperCase(), rest: m[2]!.trim(), original: t, line: stage.from.line }, this.df.directives, this.df.file);
        if (ins.kind === 'from') continue;
        state = await this.dispatch(stage, state, ins, args, sc);
      }
    }
    for (const ins of stage.instructions) {
      this.step++;
      this.out(`Step ${this.step}/${this.total} : ${ins.original}\n`);
      state = await this.dispatch(stage, state, ins, args, sc);
    }
    if (isLast && Object.keys(this.o.labels).length > 0) {
      this.step++;
      const pairs = Object.entries(this.o.labels).map(([k, v]) => [JSON.stringify(k), JSON.stringify(v)] as [string, string]);
      const text = `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
      this.out(`Step ${this.step}/${this.total} : ${text}\n`);
      state = await this.dispatch(stage, state, { kind: 'label', pairs, line: 0, original: text }, args, sc);
    }
    return state;
  }

  /** Runs one step (cached when it can be) and prints its result. */
  private async dispatch(stage: Stage, state: BuildState, ins: Exclude<Instruction, { kind: 'from' }>, args: Map<string, string>, sc: { cmdSet: boolean }): Promise<BuildState> {
    try {
      if (this.o.signal?.aborted) throw new StepError('the build was cancelled');
      let next: BuildState;
      if (ins.kind === 'arg') {
        const before = new Map(args);
        this.declareArgs(ins, args, envMap(containerConfig(state)), this.globalArgs);
        const shown = ins.args.map((a) => (args.has(a.name) && a.value !== undefined ? `${a.name}=${args.get(a.name)}` : a.name)).join(' ');
        const createdBy = `/bin/sh -c #(nop)  ARG ${shown}`;
        next = await this.cached(keyOf(state.id, createdBy, JSON.stringify([...args].filter(([k]) => !before.has(k) || before.get(k) !== args.get(k)))), () =>
          Promise.resolve(nextState(state, containerConfig(state), createdBy, this.d.now())),
        );
      } else if (isMetadata(ins) && ins.kind !== 'workdir') {
        const r = applyMetadata(containerConfig(state), ins, args, this.df.directives.escape, sc.cmdSet);
        if (r.cmdSet) sc.cmdSet = true;
        next = await this.cached(keyOf(state.id, r.createdBy, JSON.stringify(r.config), r.author ?? ''), () =>
          Promise.resolve(nextState(state, r.config, r.createdBy, this.d.now(), r.author !== undefined ? { author: r.author } : {})),
        );
      } else if (ins.kind === 'workdir') {
        next = await this.workdir(state, ins.value, args);
      } else if (ins.kind === 'run') {
        next = await this.run(state, ins, args);
      } else if (ins.kind === 'copy' || ins.kind === 'add') {
        next = await this.copy(stage, state, ins, args);
      } else {
        throw new StepError(`unsupported instruction ${(ins as Instruction).kind}`);
      }
      this.out(` ---> ${short(next.id)}\n`);
      return next;
    } catch (e) {
      this.fail(ins.line, e);
    }
  }

  /** The cache: a hit prints "Using cache"; a miss runs `make` and records what it made. */
  private async cached(key: string, make: () => Promise<BuildState>): Promise<BuildState> {
    if (!this.o.noCache) {
      const hit = await this.d.store.lookup(key, this.d.images);
      if (hit !== undefined) {
        this.out(' ---> Using cache\n');
        return hit;
      }
    }
    const s = await make();
    await this.d.store.record(key, s);
    return s;
  }

  private async workdir(state: BuildState, raw: string, args: Map<string, string>): Promise<BuildState> {
    const cfg = containerConfig(state);
    const dir = containerPath(this.word(raw, expansionEnv(cfg, args)), cfg.WorkingDir);
    const createdBy = `/bin/sh -c #(nop) WORKDIR ${dir}`;
    const next: OciContainerConfig = { ...JSON.parse(JSON.stringify(cfg)) as OciContainerConfig, WorkingDir: dir };
    return this.cached(keyOf(state.id, createdBy, JSON.stringify(next)), async () => {
      const lowers = await this.d.store.lowerDirs(state, this.d.images);
      const layer = await withSnapshot(this.d.store, lowers, async (rootfs, upper) => {
        await mkdirInRoot(rootfs, dir, { uid: 0, gid: 0 });
        return layerFromUpper(this.d.store, upper, new Set(), state.config.rootfs.diff_ids, false);
      });
      return nextState(state, next, createdBy, this.d.now(), layer !== undefined ? { layer } : {});
    });
  }

  private async run(state: BuildState, ins: RunInstruction, args: Map<string, string>): Promise<BuildState> {
    const cfg = containerConfig(state);
    const argv = argvOf(ins.command, cfg.Shell as string[] | undefined);
    const imageEnv = envMap(cfg);
    const argPairs = [...args].filter(([k]) => !imageEnv.has(k)).sort(([a], [b]) => (a < b ? -1 : 1));
    const proxies = [...this.o.buildArgs].filter(([k]) => PROXY_ARGS.has(k) && !args.has(k));
    for (const [k] of proxies) this.consumed.add(k);
    const prefix = argPairs.length > 0 ? `|${argPairs.length} ${argPairs.map(([k, v]) => `${k}=${v}`).join(' ')} ` : '';
    const createdBy = `${prefix}${argv.join(' ')}`;
    return this.cached(keyOf(state.id, 'RUN', createdBy, JSON.stringify(argv), this.o.network ?? ''), async () => {
      if (state.config.rootfs.diff_ids.length === 0) throw new StepError('RUN needs a filesystem with a shell: the image has no layers (FROM scratch)');
      const lowers = await this.d.store.lowerDirs(state, this.d.images);
      if (!this.registered.has(state.id)) {
        this.d.buildImages.add({ id: state.id, config: state.config, lowerDirs: lowers });
        this.registered.add(state.id);
      }
      const env = [...(cfg.Env ?? []), ...argPairs.map(([k, v]) => `${k}=${v}`), ...proxies.map(([k, v]) => `${k}=${v}`)];
      const decoder = new StringDecoder('utf8');
      const step = await this.d.containers.start(
        { image: state.id, argv, env, ...(cfg.User ? { user: cfg.User } : {}), ...(cfg.WorkingDir ? { workdir: cfg.WorkingDir } : {}), ...(this.o.network ? { network: this.o.network } : {}) },
        (data) => {
          const text = decoder.write(data);
          if (text !== '') this.out(text);
        },
        (id) => this.out(` ---> Running in ${short(id)}\n`),
      );
      const cancel = (): void => void step.remove().catch(() => undefined);
      this.o.signal?.addEventListener('abort', cancel);
      if (this.o.signal?.aborted) cancel(); // the client may have gone while the container was starting
      try {
        const code = await step.finished;
        if (this.o.signal?.aborted) throw new StepError('the build was cancelled');
        if (code !== 0) throw new StepError(`The command '${argv.join(' ')}' returned a non-zero code: ${code}`);
        const exclude = await runExclusions(lowers, Object.keys(cfg.Volumes ?? {}));
        const layer = await layerFromUpper(this.d.store, step.upperDir(), exclude, state.config.rootfs.diff_ids, true);
        return nextState(state, cfg, createdBy, this.d.now(), layer !== undefined ? { layer } : {});
      } finally {
        this.o.signal?.removeEventListener('abort', cancel);
        await step.remove().catch(() => undefined);
        this.out(` ---> Removed intermediate container ${short(step.id)}\n`);
      }
    });
  }

  /** Where COPY --from reads: an earlier stage's filesystem, or an image's. */
  private async sourceState(stage: Stage, from: string): Promise<{ state: BuildState; what: string }> {
    const prev = stageRef(this.stages, from, stage.index);
    if (prev !== undefined) return { state: this.results.get(prev.index)!.state, what: `stage ${prev.name ?? prev.index}` };
    if (/^\d+$/.test(from)) throw new StepError(`invalid from flag value ${from}: refers to the current or a later stage`);
    return { state: await this.imageState(from, undefined), what: `image ${from}` };
  }

  private async copy(stage: Stage, state: BuildState, ins: CopyInstruction, args: Map<string, string>): Promise<BuildState> {
    const verb = ins.kind === 'copy' ? 'COPY' : 'ADD';
    try {
      return await this.copyInner(stage, state, ins, args, verb);
    } catch (e) {
      if (e instanceof BuildError || e instanceof StepError) throw new StepError(`${verb} failed: ${e.message}`);
      throw e;
    }
  }

  private async copyInner(stage: Stage, state: BuildState, ins: CopyInstruction, args: Map<string, string>, verb: string): Promise<BuildState> {
    const cfg = containerConfig(state);
    const vars = expansionEnv(cfg, args);
    const srcWords = ins.sources.map((s) => this.word(s, vars));
    const destWord = this.word(ins.dest, vars);
    const dest = containerPath(destWord, cfg.WorkingDir);
    const destIsDirByName = destWord.endsWith('/') || destWord.endsWith('/.') || destWord === '.';
    const from = ins.from !== undefined ? this.word(ins.from, vars) : undefined;
    const chown = ins.chown !== undefined ? this.word(ins.chown, vars) : undefined;
    const chmod = ins.chmod !== undefined ? parseInt(ins.chmod, 8) : undefined;
    const urls = ins.kind === 'add' ? srcWords.filter(isUrl) : [];
    const locals = srcWords.filter((s) => !urls.includes(s));
    const sourceFs = from !== undefined ? await this.sourceState(stage, from) : undefined;
    const withSources = async <T>(fn: (sources: Source[], checksum: string) => Promise<T>): Promise<T> => {
      if (sourceFs === undefined) {
        const sources = locals.length > 0 ? await findSources(this.ctx.dir, locals, 'build context', this.ctx.ignore) : [];
        return fn(sources, sources.length > 0 ? await checksumSources(sources, { root: this.ctx.dir, matcher: this.ctx.ignore }) : '');
      }
      const lowers = await this.d.store.lowerDirs(sourceFs.state, this.d.images);
      return withSnapshot(this.d.store, lowers, async (root) => {
        const sources = await findSources(root, locals, sourceFs.what);
        return fn(sources, await checksumSources(sources));
      });
    };
    return withSources(async (sources, checksum) => {
      const many = sources.length + urls.length > 1;
      if (many && !destIsDirByName) throw new StepError(`When using ${verb} with more than one source file, the destination must be a directory and end with a /`);
      const kind = many ? 'multi' : sources[0]?.isDir ? 'dir' : 'file';
      const createdBy = `/bin/sh -c #(nop) ${verb} ${kind}:${(checksum || createHash('sha256').update(urls.join('\n')).digest('hex')).replace(/^sha256:/, '')} in ${dest} `;
      const key = keyOf(state.id, createdBy, from ?? '', chown ?? '', ins.chmod ?? '', urls.join('\n'), destIsDirByName ? 'dir' : '');
      return this.cached(key, async () => {
        const lowers = await this.d.store.lowerDirs(state, this.d.images);
        const tmp = await this.d.store.workDir('add');
        try {
          const layer = await withSnapshot(this.d.store, lowers, async (rootfs, upper) => {
            const owner = chown !== undefined ? await resolveChown(rootfs, chown) : { uid: 0, gid: 0 };
            const plain: Source[] = [];
            for (const [i, s] of sources.entries()) {
              if (ins.kind === 'add' && !s.isDir && (await isArchive(s.path))) {
                const out = join(tmp, `x${i}`);
                await mkdir(out);
                await extractArchive(s.path, out);
                await copySources(rootfs, [{ path: out, rel: '', isDir: true }], dest, true, { owner, keepOwner: true });
              } else plain.push(s);
            }
            if (plain.length > 0) await copySources(rootfs, plain, dest, destIsDirByName || many, { owner, ...(chmod !== undefined ? { chmod } : {}) });
            for (const u of urls) {
              const file = await addFromUrl(u, tmp);
              await copySources(rootfs, [file], dest, destIsDirByName || many, { owner, chmod: chmod ?? 0o600 });
            }
            return layerFromUpper(this.d.store, upper, new Set(), state.config.rootfs.diff_ids, true);
          });
          return nextState(state, cfg, createdBy, this.d.now(), layer !== undefined ? { layer } : {});
        } finally {
          await rm(tmp, { recursive: true, force: true });
        }
      });
    });
  }
}

/** Parses the Dockerfile (a DockerfileError names the line) and checks the target before anything runs. */
export function planBuild(ctx: BuildContext, target: string | undefined): { df: Dockerfile; stages: Stage[] } {
  const df = parseDockerfile(ctx.dockerfileText, ctx.dockerfile);
  return { df, stages: stagesUpTo(df, target) };
}

/** Runs the build and commits the image; returns it. Messages go to `emit` as they happen. */
export async function runBuild(ctx: BuildContext, plan: { df: Dockerfile; stages: Stage[] }, o: BuildOptions, d: BuildDeps, emit: (m: JsonMessage) => void): Promise<ImageRecord> {
  return d.store.session(async () => {
    const run = new Run(plan.df, plan.stages, ctx, o, d, emit);
    try {
      const final = await run.execute();
      const rec = await commitImage(d.images, d.store, final, o.tags);
      emit({ aux: { ID: rec.id } });
      emit({ stream: `Successfully built ${short(rec.id)}\n` });
      for (const t of o.tags) emit({ stream: `Successfully tagged ${t}\n` });
      return rec;
    } finally {
      run.dispose();
    }
  });
}

