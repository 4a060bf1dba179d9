/**
 * A stand-in for shoald in the "engine runs inside a host netns" test: started as
 * `nsenter --net=/run/netns/<host> node engine-child.js` with an IPC channel, it opens a NetworkManager
 * WITHOUT the hostNetns option (so every command runs in the namespace it was started in) and executes
 * { op, args } requests, answering { ok, value } or { ok: false, status, message }.
 */
import { NetworkManager, NetworkError, type NetworkManagerOptions, type AttachRequest } from '../../../worker/engine/network/index.js';

let nm: NetworkManager | undefined;

async function handle(op: string, args: unknown[]): Promise<unknown> {
  switch (op) {
    case 'open':
      nm = await NetworkManager.open(args[0] as NetworkManagerOptions);
      return null;
    case 'create':
      return nm!.create(args[0]);
    case 'attach':
      return nm!.attach(args[0] as string, args[1] as AttachRequest);
    case 'detach':
      return nm!.detach(args[0] as string);
    case 'close':
      await nm!.close({ removeAll: true });
      return null;
    default:
      throw new Error(`unknown op ${op}`);
  }
}

function main(): void {
  process.on('message', (m: unknown) => {
    const { id, op, args } = m as { id: number; op: string; args: unknown[] };
    handle(op, args).then(
      (value) => process.send!({ id, ok: true, value }),
      (e: unknown) => process.send!({ id, ok: false, status: e instanceof NetworkError ? e.status : 500, message: (e as Error).message }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

main();
