/**
 * stdin for attach: conmon's attach socket is SOCK_SEQPACKET, which Node's net module cannot open, so a
 * `socat` child bridges a pipe to it. Writes before the container starts are buffered until it does.
 */
import { spawn } from 'node:child_process';
import { PassThrough, type Writable } from 'node:stream';

export const SOCAT_PATH = 'socat';
const SOCK_SEQPACKET = 5;

export function stdinWriter(socketPath: string, started: Promise<void>, exited: Promise<unknown>): Writable {
  const input = new PassThrough();
  let done = false;
  void exited.then(() => {
    done = true;
    input.destroy();
  });
  void started.then(() => {
    if (done) return;
    const child = spawn(SOCAT_PATH, ['-u', '-', `UNIX-CONNECT:${socketPath},type=${SOCK_SEQPACKET}`], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => input.destroy());
    child.stdin.on('error', () => input.destroy());
    input.pipe(child.stdin);
    void exited.then(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
  });
  return input;
}
