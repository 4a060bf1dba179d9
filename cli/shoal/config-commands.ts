/** `shoal config create|ls|inspect|rm`: the secret commands' builder over /configs (see secret-commands.ts). */
import type { Command } from 'commander';
import type { ClientOf } from './container-commands.js';
import { registerDataCommands } from './secret-commands.js';

export function registerConfigCommands(program: Command, client: ClientOf): void {
  registerDataCommands(program, client, { kind: 'config', path: '/configs', description: 'Manage Swarm configs' });
}
