#!/usr/bin/env node
/**
 * shoal: the command-line client. Speaks the engine's REST API over the unix socket named by `-H`,
 * `SHOAL_HOST` or `DOCKER_HOST` (default unix:///run/shoal/shoal.sock); output follows the docker CLI.
 */
import { Command } from 'commander';
import { ApiClient, ApiResponseError, DaemonUnreachableError } from './api-client.js';
import { DEFAULT_HOST, HostAddressError } from './host-address.js';
import { registerBuildCommands } from './shoal/build-commands.js';
import { registerContainerCommands } from './shoal/container-commands.js';
import { registerImageCommands } from './shoal/image-commands.js';
import { registerNodeCommands } from './shoal/node-commands.js';
import { FlagError } from './shoal/run-flags.js';
import { registerServiceCommands } from './shoal/service-commands.js';
import { registerSecretCommands } from './shoal/secret-commands.js';
import { registerConfigCommands } from './shoal/config-commands.js';
import { registerStackCommands } from './shoal/stack-commands.js';
import { registerSwarmCommands } from './shoal/swarm-commands.js';
import { registerSystemCommands } from './shoal/system-commands.js';
import { registerNetworkCommands, registerVolumeCommands } from './shoal/volume-network-commands.js';

/** Exit code to use after a failure, with the message printed to stderr. */
export function reportError(e: unknown): number {
  if (e instanceof ApiResponseError) {
    process.stderr.write(`Error response from daemon: ${e.message}\n`);
    return 1;
  }
  if (e instanceof DaemonUnreachableError || e instanceof HostAddressError || e instanceof FlagError) {
    process.stderr.write(`${e.message}\n`);
    return 1;
  }
  process.stderr.write(`Error: ${(e as Error).message ?? String(e)}\n`);
  return 1;
}

export function shoalProgram(env: NodeJS.ProcessEnv, exit: (code: number) => void): Command {
  const program = new Command('shoal')
    .description('shoal: a Swarm-style container orchestrator')
    .option('-H, --host <addr>', 'daemon socket to connect to')
    .enablePositionalOptions()
    .showHelpAfterError();
  let client: ApiClient | undefined;
  const getClient = (): ApiClient => {
    client ??= new ApiClient((program.opts() as { host?: string }).host ?? env['SHOAL_HOST'] ?? env['DOCKER_HOST'] ?? DEFAULT_HOST);
    return client;
  };
  registerContainerCommands(program, getClient, exit);
  registerImageCommands(program, getClient);
  registerBuildCommands(program, getClient);
  registerVolumeCommands(program, getClient);
  registerNetworkCommands(program, getClient);
  registerSystemCommands(program, getClient);
  registerServiceCommands(program, getClient);
  registerSecretCommands(program, getClient);
  registerConfigCommands(program, getClient);
  registerStackCommands(program, getClient);
  registerSwarmCommands(program, getClient);
  registerNodeCommands(program, getClient);
  return program;
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  let code = 0;
  const exit = (c: number): void => {
    code = c;
  };
  shoalProgram(process.env, exit)
    .parseAsync(process.argv)
    .then(
      () => process.exit(code),
      (e: unknown) => process.exit(reportError(e)),
    );
}
