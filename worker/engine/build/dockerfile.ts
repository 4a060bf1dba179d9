/**
 * A Dockerfile as build stages: the ARGs before the first FROM (usable in FROM lines), then one stage
 * per FROM with its name (`AS name`) and instructions. Pure; errors name the file and line.
 */
import { DockerfileError } from './dockerfile-error.js';
import { parseInstruction, type ArgInstruction, type FromInstruction, type Instruction } from './dockerfile-instructions.js';
import { splitInstructions, type Directives } from './dockerfile-lines.js';

export interface Stage {
  index: number;
  /** lower case, as `AS name` gave it */
  name?: string;
  from: FromInstruction;
  instructions: Exclude<Instruction, FromInstruction>[];
}

export interface Dockerfile {
  file: string;
  directives: Directives;
  /** ARGs declared before the first FROM */
  globalArgs: ArgInstruction[];
  stages: Stage[];
}

const STAGE_NAME = /^[a-z][a-z0-9\-_.]*$/;

export function parseDockerfile(text: string, file = 'Dockerfile'): Dockerfile {
  const { directives, instructions } = splitInstructions(text, file);
  if (instructions.length === 0) throw new DockerfileError(file, 0, 'the Dockerfile cannot be empty');
  const globalArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  const names = new Map<string, number>();
  for (const raw of instructions) {
    const ins = parseInstruction(raw, directives, file);
    if (ins.kind === 'from') {
      const stage: Stage = { index: stages.length, from: ins, instructions: [] };
      if (ins.stageName !== undefined) {
        const name = ins.stageName.toLowerCase();
        if (!STAGE_NAME.test(name)) throw new DockerfileError(file, ins.line, `invalid name for build stage: ${JSON.stringify(ins.stageName)}, name can't start with a number or contain symbols`);
        const prev = names.get(name);
        if (prev !== undefined) throw new DockerfileError(file, ins.line, `duplicate stage name ${JSON.stringify(name)} (first used on line ${stages[prev]!.from.line})`);
        names.set(name, stages.length);
        stage.name = name;
      }
      stages.push(stage);
      continue;
    }
    const current = stages[stages.length - 1];
    if (current === undefined) {
      if (ins.kind === 'arg') {
        globalArgs.push(ins);
        continue;
      }
      throw new DockerfileError(file, ins.line, `${raw.keyword} before FROM: the first instruction must be FROM (only ARG may come before it)`);
    }
    current.instructions.push(ins);
  }
  if (stages.length === 0) throw new DockerfileError(file, 0, 'the Dockerfile has no FROM instruction');
  return { file, directives, globalArgs, stages };
}

/** The stages to build for `target` (all of them when it is empty): every stage up to and including it. */
export function stagesUpTo(df: Dockerfile, target: string | undefined): Stage[] {
  if (target === undefined || target === '') return df.stages;
  const t = target.toLowerCase();
  const i = df.stages.findIndex((s) => s.name === t);
  if (i < 0) throw new DockerfileError(df.file, 0, `failed to reach build target ${target} in Dockerfile`);
  return df.stages.slice(0, i + 1);
}

/** The stage a `COPY --from=` or `FROM` names (by name or index), if it is an earlier stage. */
export function stageRef(stages: readonly Stage[], ref: string, before: number): Stage | undefined {
  const lower = ref.toLowerCase();
  if (/^\d+$/.test(ref)) {
    const i = Number(ref);
    return i < before ? stages[i] : undefined;
  }
  const s = stages.find((x) => x.name === lower);
  return s !== undefined && s.index < before ? s : undefined;
}
