/**
 * Runs the batching FIFO test SQS (fifo-sqs-server.ts) in a process of its own, as the e2e global setup does:
 *   node -r ts-node/register/transpile-only test/support/fifo-sqs-server-cli.ts
 * Prints `listening on <endpoint>` once it accepts requests. Serves until SIGTERM or SIGINT, or until its standard
 * input closes, so that a test run that dies without its teardown leaves no server behind.
 */
import { FifoSqsServer } from './fifo-sqs-server';

async function main(): Promise<void> {
  const server = await FifoSqsServer.start();
  process.stdout.write(`listening on ${server.endpoint}\n`);
  const shutdown = () => {
    void server.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  process.stdin.once('end', shutdown).resume();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
