// fauxqs (a local SQS speaking the real protocol) in a process of its own, so that a benchmark's figures do not
// mix the emulator's CPU with its own. fauxqs is ESM-only, hence this file's format.
// Usage: node fauxqs-server.mjs [latencyMs]; prints `listening on port N`. With a latency, N is a TCP forwarder in
// front of fauxqs that holds every chunk for latencyMs / 2 in each direction, as a network round trip to a remote
// SQS endpoint would.
import { startFauxqs } from 'fauxqs';
import { createConnection, createServer } from 'node:net';

const latencyMs = Number(process.argv[2] ?? 0);
const fauxqs = await startFauxqs({ port: 0, logger: false });

/** Forwards `from` to `to`, each chunk after `delayMs`; equal delays keep the chunks in order. */
function delayedPipe(from, to, delayMs) {
  from.on('data', (chunk) => setTimeout(() => to.write(chunk), delayMs));
  from.on('end', () => setTimeout(() => to.end(), delayMs));
  from.on('error', () => to.destroy());
}

let port = fauxqs.port;
if (latencyMs > 0) {
  const forwarder = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: fauxqs.port });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    delayedPipe(client, upstream, latencyMs / 2);
    delayedPipe(upstream, client, latencyMs / 2);
  });
  await new Promise((resolve) => forwarder.listen(0, '127.0.0.1', resolve));
  port = forwarder.address().port;
}
console.log(`listening on port ${port}`);
const shutdown = () => fauxqs.stop().then(() => process.exit(0));
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
