#!/usr/bin/env node
/**
 * shoal: the command-line client. Speaks the engine's REST API over the unix socket named by `-H`,
 * `SHOAL_HOST` or `DOCKER_HOST` (default unix:///run/shoal/shoal.sock); output follows the docker CLI.
 */
import { Command } from 'commander';
import { ApiClient, ApiResponseError, DaemonUnreachableError } from './api-client.js';
import { DEFAULT_HOST, HostAddressError } from './host-address.js';
import { registerContainerCommands } from './shoal/container-commands.js';
import { registerImageCommands } from './shoal/image-commands.js';
import { FlagError } from './shoal/run-flags.js';
import { registerSystemCommands } from './shoal/system-commands.js';
import { registerNetworkCommands, registerVolumeCommands } from './shoal/volume-network-commands.js';

type Register = (program: Command, client: () => ApiClient) => void;

/**
 * Command groups imported only when the command line names them (or asks for help): the container
 * commands start without loading the swarm, stack (yaml) and build (tar) code. A new group is one
 * line here.
 */
const LAZY_GROUPS: readonly { names: readonly string[]; load: () => Promise<Register> }[] = [
  { names: ['build'], load: async () => (await import('./shoal/build-commands.js')).registerBuildCommands },
  { names: ['service'], load: async () => (await import('./shoal/service-commands.js')).registerServiceCommands },
  { names: ['secret'], load: async () => (await import('./shoal/secret-commands.js')).registerSecretCommands },
  { names: ['config'], load: async () => (await import('./shoal/config-commands.js')).registerConfigCommands },
  { names: ['stack'], load: async () => (await import('./shoal/stack-commands.js')).registerStackCommands },
  { names: ['swarm'], load: async () => (await import('./shoal/swarm-commands.js')).registerSwarmCommands },
  { names: ['node'], load: async () => (await import('./shoal/node-commands.js')).registerNodeCommands },
];

/** The command word of `argv` (after node, the script and the global -H/--host), or undefined. */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-H' || a === '--host') {
      i++;
      continue;
    }
    if (a.startsWith('--host=') || (a.startsWith('-H') && a.length > 2)) continue;
    return a.startsWith('-') ? undefined : a;
  }
  return undefined;
}

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

/** The program for `argv`: the core groups, plus the lazy group it names (all of them for help or an unknown word). */
export async function shoalProgram(env: NodeJS.ProcessEnv, exit: (code: number) => void, argv: readonly string[] = []): Promise<Command> {
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
  registerVolumeCommands(program, getClient);
  registerNetworkCommands(program, getClient);
  registerSystemCommands(program, getClient);
  const word = commandWord(argv);
  const core = word !== undefined && program.commands.some((c) => c.name() === word || c.aliases().includes(word));
  const named = LAZY_GROUPS.filter((g) => word !== undefined && g.names.includes(word));
  const groups = core ? [] : named.length > 0 ? named : LAZY_GROUPS;
  for (const register of await Promise.all(groups.map((g) => g.load()))) register(program, getClient);
  return program;
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  let code = 0;
  const exit = (c: number): void => {
    code = c;
  };
  shoalProgram(process.env, exit, process.argv)
    .then((program) => program.parseAsync(process.argv))
    .then(
      () => process.exit(code),
      (e: unknown) => process.exit(reportError(e)),
    );
}
