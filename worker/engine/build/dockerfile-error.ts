/** A Dockerfile problem that names its line: `Dockerfile:3: unknown instruction: RUNN`. */
export class DockerfileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = 'DockerfileError';
  }
}
