// Starts the e2e run's two local SQS servers; suites create their own queues on them.
// - fauxqs (in process; ESM-only, hence this file's format), at TEST_SQS_ENDPOINT: the SQS of most suites.
// - the batching FIFO test SQS of test/support/fifo-sqs-server.ts, at TEST_FIFO_SQS_ENDPOINT: it hands out up to
//   ten messages of a FIFO group per receive, as SQS does and fauxqs does not, for the suites that judge order.
//   It is TypeScript, so it runs in a child process under ts-node.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFauxqs } from 'fauxqs';

const here = dirname(fileURLToPath(import.meta.url));

export default async function globalSetup() {
  // The SDK warns once per process that its 2027 releases need Node 22; the suites run on Node 20 on purpose.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const [fauxqs, fifoSqs] = await Promise.all([startFauxqs({ port: 0, logger: false }), startFifoSqs()]);
  globalThis.__FAUXQS__ = fauxqs;
  globalThis.__FIFO_SQS__ = fifoSqs.child;
  process.env.TEST_SQS_ENDPOINT = fauxqs.address;
  process.env.TEST_FIFO_SQS_ENDPOINT = fifoSqs.endpoint;
}

/** Spawns the batching FIFO test SQS and resolves with its endpoint once it listens. */
function startFifoSqs() {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', join(here, 'fifo-sqs-server-cli.ts')],
    {
      cwd: join(here, '..', '..'),
      // Its standard input stays open while this process lives: the server ends when it closes.
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk.toString();
      const listening = /listening on (\S+)/.exec(output);
      if (listening) resolve({ child, endpoint: listening[1] });
    });
    child.once('exit', (code) =>
      reject(new Error(`the FIFO test SQS exited with ${code} before listening: ${output}`)),
    );
  });
}
