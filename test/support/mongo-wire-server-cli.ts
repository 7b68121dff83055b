/**
 * Runs a MongoWireServer in a process of its own, so a benchmark does not count the server's memory as its own:
 *   node -r ts-node/register/transpile-only test/support/mongo-wire-server-cli.ts [--port N]
 * Prints `listening on port N` once it accepts connections, and serves until SIGTERM or SIGINT.
 */
import { MongoWireServer } from './mongo-wire-server';

function requestedPort(argv: string[]): number {
  const index = argv.indexOf('--port');
  const raw =
    index >= 0 ? argv[index + 1] : (argv.find((arg) => arg.startsWith('--port='))?.slice('--port='.length) ?? '0');
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port ${String(raw)}`);
  return port;
}

async function main(): Promise<void> {
  const server = await MongoWireServer.start({ port: requestedPort(process.argv.slice(2)) });
  process.stdout.write(`listening on port ${server.port}\n`);
  const shutdown = () => {
    void server.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
