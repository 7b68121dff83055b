#!/usr/bin/env node
// `npm run local`: the whole service on a developer's machine, no cloud account needed (docs/contract.md).
//   - SQS: fauxqs, a local SQS speaking the real protocol, in this process, with the FIFO ingest queue and its
//     FIFO dead-letter queue (redrive after 5 receives) created at start;
//   - Redis: REDIS_URL when set, otherwise a private redis-server (data kept in .local/redis, append-only file on);
//   - MongoDB: only when MONGODB_URI is set;
//   - the service itself, dist/main.js with every role, on PORT (3000), its JSON logs printed for a person by
//     pino-pretty (LOCAL_LOG_FORMAT=json keeps them as the service writes them).
// Variables come from the environment, then from .env when present, then from the local defaults below.
// Prerequisites are checked first (Node version, redis-server or REDIS_URL); each missing one is named with what to
// install.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFauxqs } from 'fauxqs';
import pinoPretty from 'pino-pretty';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (existsSync(join(root, '.env'))) process.loadEnvFile(join(root, '.env'));

const LOCAL_DEFAULTS = {
  PORT: '3000',
  APP_ROLES: 'all',
  WEBHOOK_KEY_SECRET: 'local-webhook-key-secret-not-for-production',
  PRODUCER_API_KEYS: 'local-producer-key-0001:demo',
  ADMIN_API_KEYS: 'local-admin-key-000001',
  LOG_LEVEL: 'info',
};

/** What `npm run local` needs before it starts anything; each problem says what to install. */
function missingPrerequisites() {
  const problems = [];
  const [major, minor] = process.versions.node.split('.').map(Number);
  // package.json's engines: >=20.19 <21 || >=22.12
  const supported = (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major > 22;
  if (!supported) {
    problems.push(
      `Node ${process.versions.node} is not supported: install Node 22.12 or later (or 20.19+), e.g. from ` +
        'https://nodejs.org or with nvm (nvm install 22)',
    );
  }
  if (!process.env.REDIS_URL) {
    try {
      execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    } catch {
      problems.push(
        'redis-server is not on PATH and REDIS_URL is not set: install Redis (Debian/Ubuntu: apt-get install -y ' +
          'redis-server; macOS: brew install redis) or set REDIS_URL=redis://host:port to use a running one',
      );
    }
  }
  return problems;
}

/** The service's JSON log lines, one readable line each; lines that are not JSON pass through unchanged. */
function readableLogs() {
  return pinoPretty({
    colorize: process.stdout.isTTY,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service,roles,context',
    messageFormat: '{if context}[{context}] {end}{msg}',
    singleLine: true,
  });
}

const children = [];
let fauxqs;

function log(message) {
  process.stdout.write(`[local] ${message}\n`);
}

function fail(message) {
  process.stderr.write(`[local] ${message}\n`);
  void shutdown(1);
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function freePort(preferred) {
  if (await portIsFree(preferred)) return preferred;
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function redisAnswers(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379) });
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) =>
      done(chunk.toString().startsWith('+PONG') || chunk.toString().startsWith('-NOAUTH')),
    );
  });
}

async function startRedis() {
  if (process.env.REDIS_URL) {
    if (!(await redisAnswers(process.env.REDIS_URL)))
      log(`warning: nothing answers at REDIS_URL; the service will report not ready until it does`);
    return process.env.REDIS_URL;
  }
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    fail('redis-server is not installed: install it (Debian/Ubuntu: apt-get install -y redis-server) or set REDIS_URL');
    return null;
  }
  const dir = join(root, '.local', 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await freePort(6390);
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(redis);
  await new Promise((resolve, reject) => {
    let output = '';
    redis.stdout.on('data', (chunk) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    redis.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
  log(`private redis-server on port ${port} (data in .local/redis)`);
  return `redis://127.0.0.1:${port}`;
}

async function startSqs() {
  const port = await freePort(Number(process.env.LOCAL_SQS_PORT ?? 4566));
  fauxqs = await startFauxqs({ port, logger: false });
  const dlq = fauxqs.createQueue('setgetapi-ingest-dlq.fifo', { attributes: { FifoQueue: 'true' } });
  const queue = fauxqs.createQueue('setgetapi-ingest.fifo', {
    attributes: {
      FifoQueue: 'true',
      // As on AWS (infra/): throughput and deduplication per message group, i.e. per accountId:flowId.
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      VisibilityTimeout: process.env.SQS_VISIBILITY_TIMEOUT ?? '30',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: '5' }),
    },
  });
  log(`local SQS (fauxqs) at ${fauxqs.address}: ${queue.queueName} and ${dlq.queueName}`);
  return { endpoint: fauxqs.address, queueUrl: queue.queueUrl, dlqUrl: dlq.queueUrl };
}

let stopping = false;

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children.reverse()) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  await fauxqs?.stop();
  process.exit(code);
}

async function main() {
  if (!existsSync(join(root, 'dist', 'main.js')))
    return fail('dist/main.js is missing: run "npm run local" (it builds first)');
  const problems = missingPrerequisites();
  if (problems.length > 0) {
    for (const problem of problems) process.stderr.write(`[local] missing: ${problem}\n`);
    process.exit(1);
  }
  const redisUrl = await startRedis();
  if (!redisUrl) return;
  const sqs = await startSqs();
  const env = {
    ...LOCAL_DEFAULTS,
    ...process.env,
    REDIS_URL: redisUrl,
    SQS_ENDPOINT: sqs.endpoint,
    SQS_QUEUE_URL: sqs.queueUrl,
    SQS_DLQ_URL: sqs.dlqUrl,
  };
  const json = process.env.LOCAL_LOG_FORMAT === 'json';
  const service = spawn(process.execPath, [join(root, 'dist', 'main.js')], {
    env,
    stdio: ['ignore', json ? 'inherit' : 'pipe', 'inherit'],
  });
  if (!json) service.stdout.pipe(readableLogs());
  children.push(service);
  service.once('exit', (code) => {
    log(`service exited with ${code}`);
    void shutdown(code ?? 1);
  });

  const base = `http://localhost:${env.PORT}`;
  const [producerKey, account] = env.PRODUCER_API_KEYS.split(',')[0].split(/:(?=[^:]*$)/);
  log(`Swagger UI: ${base}/docs   (OpenAPI document: ${base}/docs-json)`);
  log(`producer key ${producerKey} writes for account "${account}"; admin key ${env.ADMIN_API_KEYS.split(',')[0]}`);
  log('try it:');
  log(
    `  curl -s -X POST ${base}/v1/records -H 'content-type: application/json' -H 'x-api-key: ${producerKey}' ` +
      `-d '{"accountId":"${account}","flowId":"demo","webhookKeys":["wh-demo-key-1","wh-demo-key-2"],"data":{"hello":"world"}}'`,
  );
  log(`  curl -s ${base}/v1/data -H 'x-webhook-key: wh-demo-key-2'`);
  log('Ctrl-C stops everything.');
}

process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));
main().catch((error) => fail(error instanceof Error ? error.stack : String(error)));
