// Starts one in-process fauxqs (a local SQS speaking the real protocol) for the whole e2e run. fauxqs is
// ESM-only, hence this file's format; suites reach it through TEST_SQS_ENDPOINT and create their own queues.
import { startFauxqs } from 'fauxqs';

export default async function globalSetup() {
  // The SDK warns once per process that its 2027 releases need Node 22; the suites run on Node 20 on purpose.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const server = await startFauxqs({ port: 0, logger: false });
  globalThis.__FAUXQS__ = server;
  process.env.TEST_SQS_ENDPOINT = server.address;
}
