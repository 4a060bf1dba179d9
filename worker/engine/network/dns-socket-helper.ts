/**
 * Short-lived helper, run by the engine as `nsenter --net=<container netns> node dns-socket-helper.js`
 * with an IPC channel: binds UDP and TCP 127.0.0.11:53 inside the container's network namespace, hands
 * both sockets to the engine over IPC, and exits. The sockets stay in the container netns; the engine
 * serves the embedded DNS on them without any process left running in the container.
 *
 * Messages to the parent: { kind: 'udp' } + dgram socket, { kind: 'tcp' } + net.Server, or
 * { kind: 'error', message }. The helper exits when the parent answers { kind: 'done' } (so the
 * handles are received before the parent sees the exit), or after a deadline.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

function fail(message: string): void {
  if (process.send) process.send({ kind: 'error', message }, undefined, {}, () => process.exit(1));
  else process.exit(1);
}

function main(): void {
  const address = process.argv[2] ?? '127.0.0.11';
  const port = Number(process.argv[3] ?? '53');
  if (!process.send) {
    process.stderr.write('dns-socket-helper must be started with an IPC channel\n');
    process.exit(2);
  }
  const deadline = setTimeout(() => fail('timed out binding the DNS sockets'), 10_000);
  process.on('message', (m: unknown) => {
    if (typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === 'done') {
      clearTimeout(deadline);
      process.exit(0);
    }
  });
  const udp = createSocket({ type: 'udp4', reuseAddr: false });
  udp.on('error', (e) => fail(`udp ${address}:${port}: ${e.message}`));
  udp.bind({ address, port, exclusive: true }, () => {
    process.send!({ kind: 'udp' }, udp, {}, (err) => (err ? fail(err.message) : undefined));
  });
  const tcp = createServer();
  tcp.on('error', (e) => fail(`tcp ${address}:${port}: ${e.message}`));
  tcp.listen({ host: address, port, exclusive: true }, () => {
    process.send!({ kind: 'tcp' }, tcp, {}, (err) => (err ? fail(err.message) : undefined));
  });
}

main();
