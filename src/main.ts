import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AddressInfo } from 'node:net';
import { createApp } from './bootstrap';
import { ConfigError, loadConfig } from './config/app-config';

/** SIGTERM must end the process within 10 s; past this, in-flight messages are left to SQS redelivery. */
const SHUTDOWN_DEADLINE_MS = 9000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) process.stderr.write(`config error: ${problem}\n`);
    process.exit(1);
  }
  const app = await createApp(config);
  closeOnSignals(app);
  await app.listen({ port: config.port, host: '0.0.0.0' });
  const { port } = app.getHttpServer().address() as AddressInfo;
  new Logger('Main').log(
    `setGetApi listening on port ${port} with roles ${[...config.roles].join(',')}; Swagger at /docs`,
  );
}

/**
 * Nest's own shutdown hooks re-raise the signal after closing, which ends the process with 128+signal; the
 * contract is exit code 0 after a graceful stop, so signals are handled here.
 */
function closeOnSignals(app: NestFastifyApplication): void {
  const logger = new Logger('Shutdown');
  let closing = false;
  const close = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received: stopping SQS receives, finishing in-flight work, closing connections`);
    setTimeout(() => {
      logger.error(`graceful shutdown took over ${SHUTDOWN_DEADLINE_MS} ms; exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`shutdown failed: ${error instanceof Error ? error.stack : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}

main().catch((error: unknown) => {
  process.stderr.write(`setGetApi failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
