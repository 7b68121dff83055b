import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AppRole, loadConfig } from '../src/config/app-config';
import { ComposeError, renderCompose } from './support/compose-file';

/**
 * The container stack in docker/, checked without a Docker engine or docker-compose: test/support/compose-file.ts
 * renders docker/compose.yaml as `docker-compose config` would (YAML merge keys, variable interpolation with the
 * env file, paths resolved) and validates it against the Compose Specification's JSON schema (vendored), the rendered
 * environment of every role must pass the service's own configuration check, the fauxqs init file must create the
 * queues the compose file points at, and the Dockerfile is read for what its final stage runs.
 */

const ROOT = path.join(__dirname, '..');
const DOCKER_DIR = path.join(ROOT, 'docker');
const COMPOSE_FILE = path.join(DOCKER_DIR, 'compose.yaml');
const SECRETS = {
  WEBHOOK_KEY_SECRET: 'compose-test-webhook-secret',
  PRODUCER_API_KEYS: 'compose-test-producer-acme:acme,compose-test-producer-globex:globex',
  ADMIN_API_KEYS: 'compose-test-admin-key-01',
};
const ROLES: { [service: string]: string } = {
  gateway: 'gateway',
  worker: 'worker',
  query: 'query',
  'admin-scheduler': 'admin,scheduler',
};

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: { [name: string]: string | null };
  ports?: Array<string | { target: number | string; published?: number | string; host_ip?: string }>;
  volumes?: Array<string | { type: string; source: string; target: string }>;
  depends_on?: { [service: string]: { condition: string } };
  healthcheck?: { test: string[] };
  deploy?: { replicas?: number };
}
interface ComposeConfig {
  services: { [name: string]: ComposeService };
  volumes?: { [name: string]: unknown };
}

let scratch: string;
let emptyEnvFile: string;

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'setgetapi-compose-'));
  // An explicit, empty --env-file: a developer's docker/.env must not leak into what these tests see.
  emptyEnvFile = path.join(scratch, 'empty.env');
  writeFileSync(emptyEnvFile, '');
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * docker/compose.yaml rendered and validated with only `env` as the caller's environment and `envFile` as
 * --env-file (default: an empty one); throws ComposeError naming every problem.
 */
function renderedConfig(env: { [name: string]: string } = SECRETS, envFile = emptyEnvFile): ComposeConfig {
  return renderCompose(COMPOSE_FILE, { env, envFile }) as unknown as ComposeConfig;
}

let withSecrets: ComposeConfig | undefined;
/** The configuration rendered with SECRETS, rendered once for the suite. */
function config(): ComposeConfig {
  withSecrets ??= renderedConfig();
  return withSecrets;
}

/** `hostIp:published:target` whatever form (short string or long object) this docker-compose renders. */
function portBindings(service: ComposeService): string[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'string') {
      const parts = port.replace(/\/tcp$/, '').split(':');
      return (parts.length === 3 ? parts : ['', ...parts]).join(':');
    }
    return `${port.host_ip ?? ''}:${port.published ?? ''}:${port.target}`;
  });
}

function volumeTargets(service: ComposeService): string[] {
  return (service.volumes ?? []).map((volume) =>
    typeof volume === 'string' ? volume.split(':').slice(0, 2).join(':') : `${volume.source}:${volume.target}`,
  );
}

describe('docker/compose.yaml', () => {
  it('is valid for the Compose Specification with the three secrets set, and runs the whole stack', () => {
    const { services, volumes } = config();
    expect(Object.keys(services).sort()).toEqual(
      ['redis', 'mongodb', 'sqs', 'gateway', 'worker', 'query', 'admin-scheduler'].sort(),
    );
    expect(Object.keys(volumes ?? {}).sort()).toEqual(['mongodb-data', 'redis-data']);
  });

  it('splits the service into its roles, all from the one image built by docker/Dockerfile', () => {
    const { services } = config();
    for (const [service, roles] of Object.entries(ROLES)) {
      expect([service, services[service].environment?.APP_ROLES]).toEqual([service, roles]);
      expect([service, services[service].build]).toEqual([service, { context: ROOT, dockerfile: 'docker/Dockerfile' }]);
      expect([service, services[service].image]).toEqual([service, 'setgetapi:local']);
    }
    expect(services.worker.deploy?.replicas).toBe(2);
    expect(portBindings(services.gateway)).toEqual([':3000:3000']);
    expect(portBindings(services.query)).toEqual([':3001:3000']);
    expect(portBindings(services['admin-scheduler'])).toEqual([':3002:3000']);
    expect(portBindings(services.worker)).toEqual([]);
  });

  it('gives every role the shared environment, with the secrets taken from the caller', () => {
    const { services } = config();
    for (const service of Object.keys(ROLES)) {
      expect([service, services[service].environment]).toEqual([
        service,
        expect.objectContaining({
          ...SECRETS,
          REDIS_URL: 'redis://redis:6379',
          SQS_ENDPOINT: 'http://sqs:4566',
          SQS_QUEUE_URL: 'http://sqs.us-east-1.sqs:4566/000000000000/setgetapi-ingest.fifo',
          SQS_DLQ_URL: 'http://sqs.us-east-1.sqs:4566/000000000000/setgetapi-ingest-dlq.fifo',
          MONGODB_URI: 'mongodb://mongodb:27017/setgetapi',
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: expect.any(String),
          AWS_SECRET_ACCESS_KEY: expect.any(String),
          LOG_LEVEL: 'info',
        }),
      ]);
    }
  });

  it("gives every role an environment the service's own configuration check accepts", () => {
    const { services } = config();
    for (const [service, roles] of Object.entries(ROLES)) {
      const env = Object.fromEntries(
        Object.entries(services[service].environment ?? {}).map(([name, value]) => [name, value ?? undefined]),
      );
      let problems: unknown = null;
      let configured: AppRole[] = [];
      try {
        configured = [...loadConfig(env).roles].sort();
      } catch (error) {
        problems = error instanceof Error ? error.message : error;
      }
      expect({ service, problems, roles: configured }).toEqual({
        service,
        problems: null,
        roles: roles.split(',').sort(),
      });
    }
  });

  it('starts each role only once what it needs is healthy (the gateway needs the queue only)', () => {
    const { services } = config();
    const healthy = { condition: 'service_healthy' };
    expect(services.gateway.depends_on).toEqual({ sqs: expect.objectContaining(healthy) });
    expect(services.worker.depends_on).toEqual({
      sqs: expect.objectContaining(healthy),
      redis: expect.objectContaining(healthy),
    });
    expect(services.query.depends_on).toEqual({ redis: expect.objectContaining(healthy) });
    expect(services['admin-scheduler'].depends_on).toEqual({
      redis: expect.objectContaining(healthy),
      mongodb: expect.objectContaining(healthy),
    });
  });

  it('runs the archive process with a heap growing factor of 1.5 and no heap limit, the other roles as the image does', async () => {
    const { services } = config();
    // A run's garbage is collected at 1.5 times the live heap (peak RSS ~170 MiB, not ~300): see docs/operations.md.
    expect(services['admin-scheduler'].command).toEqual(['node', '--heap-growing-percent=50', 'dist/main.js']);
    for (const service of ['gateway', 'worker', 'query'])
      expect([service, services[service].command]).toEqual([service, undefined]);
    // No heap limit anywhere: a limit could kill the process over work beside the archive (a page of dead letters).
    for (const [name, service] of Object.entries(services)) {
      const settings = [...(service.command ?? []), service.environment?.NODE_OPTIONS ?? ''].join(' ');
      expect([name, settings]).not.toEqual([name, expect.stringMatching(/max-old-space-size|max-heap-size/)]);
    }
    // Node starts with the flag (an unknown V8 flag would stop it with "bad option").
    const started = spawn(process.execPath, ['--heap-growing-percent=50', '-e', 'process.exit(0)'], { stdio: 'pipe' });
    let stderr = '';
    started.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => started.on('exit', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('runs Redis with AOF and noeviction, MongoDB on 127.0.0.1:27017, both with volumes and healthchecks', () => {
    const { services } = config();
    expect(services.redis.image).toBe('redis:7');
    expect(services.redis.command?.join(' ')).toBe(
      'redis-server --appendonly yes --appendfsync everysec --maxmemory-policy noeviction',
    );
    expect(services.redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(volumeTargets(services.redis)).toEqual(['redis-data:/data']);
    expect(services.mongodb.image).toBe('mongo:7');
    expect(portBindings(services.mongodb)).toEqual(['127.0.0.1:27017:27017']);
    expect(services.mongodb.healthcheck?.test).toEqual([
      'CMD',
      'mongosh',
      '--quiet',
      '--eval',
      "db.adminCommand('ping')",
    ]);
    expect(volumeTargets(services.mongodb)).toEqual(['mongodb-data:/data/db']);
  });

  it('runs fauxqs with the init file and the host the queue URLs name', () => {
    const { services } = config();
    expect(services.sqs.image).toBe('kibertoad/fauxqs:latest');
    expect(services.sqs.environment).toMatchObject({ FAUXQS_INIT: '/app/init.json', FAUXQS_HOST: 'sqs' });
    expect(volumeTargets(services.sqs)).toEqual([`${path.join(DOCKER_DIR, 'fauxqs-init.json')}:/app/init.json`]);
  });

  it.each(Object.keys(SECRETS))('refuses to render without %s, naming it', (missing) => {
    const env = Object.fromEntries(Object.entries(SECRETS).filter(([name]) => name !== missing));
    expect(() => renderedConfig(env)).toThrow(ComposeError);
    expect(() => renderedConfig(env)).toThrow(
      `required variable ${missing} is missing a value: ${missing} must be set`,
    );
    // Set but empty is refused too (`:?`).
    expect(() => renderedConfig({ ...env, [missing]: '' })).toThrow(`${missing} must be set`);
  });

  it('is checked against the schema, not merely parsed: a misspelt key or a wrongly typed value fails', () => {
    const original = readFileSync(COMPOSE_FILE, 'utf8');
    const check = (from: string | RegExp, to: string, problem: RegExp) => {
      const file = path.join(scratch, 'compose.yaml');
      writeFileSync(
        file,
        original.replace(from, to).replace(/\.\/fauxqs-init\.json/g, path.join(DOCKER_DIR, 'fauxqs-init.json')),
      );
      expect(original.replace(from, to)).not.toBe(original);
      expect(() => renderCompose(file, { env: SECRETS, envFile: emptyEnvFile })).toThrow(problem);
    };
    check(
      '    depends_on:\n      sqs:',
      '    depend_on:\n      sqs:',
      /must NOT have additional properties.*depend_on/,
    );
    check('replicas: 2', 'replicas: two', /\/services\/worker\/deploy\/replicas must be integer/);
    check('condition: service_healthy', 'condition: service-healthy', /must be equal to one of the allowed values/);
    check('interval: 5s', 'interval: 5 seconds', /must match format "duration"/);
  });

  it('renders with docker/.env.example, whose placeholder secrets the service accepts', () => {
    const { services } = renderedConfig({}, path.join(DOCKER_DIR, '.env.example'));
    const env = services.gateway.environment ?? {};
    expect(env.PRODUCER_API_KEYS).toMatch(/^[^:,\s]{16,}:[A-Za-z0-9._-]+(,[^:,\s]{16,}:[A-Za-z0-9._-]+)*$/);
    for (const service of Object.keys(ROLES)) {
      const serviceEnv = Object.fromEntries(
        Object.entries(services[service].environment ?? {}).map(([name, value]) => [name, value ?? undefined]),
      );
      expect(() => loadConfig(serviceEnv)).not.toThrow();
    }
  });
});

describe('docker/fauxqs-init.json', () => {
  it('creates the FIFO queue and its FIFO dead-letter queue at the URLs the compose file uses', async () => {
    const { services } = config();
    const queues = await fauxqsQueues(path.join(DOCKER_DIR, 'fauxqs-init.json'));
    const environment = services.worker.environment ?? {};
    const queue = queues.find((candidate) => candidate.url === environment.SQS_QUEUE_URL);
    const dlq = queues.find((candidate) => candidate.url === environment.SQS_DLQ_URL);
    expect(queues.map(({ url }) => url).sort()).toEqual([environment.SQS_DLQ_URL, environment.SQS_QUEUE_URL].sort());
    expect(dlq?.attributes).toMatchObject({
      FifoQueue: 'true',
      QueueArn: 'arn:aws:sqs:us-east-1:000000000000:setgetapi-ingest-dlq.fifo',
    });
    expect(queue?.attributes).toMatchObject({ FifoQueue: 'true', VisibilityTimeout: '30' });
    expect(JSON.parse(queue?.attributes.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: dlq?.attributes.QueueArn,
      maxReceiveCount: expect.stringMatching(/^5$/),
    });
  });
});

interface FauxqsQueue {
  url: string;
  attributes: { [name: string]: string };
}

/**
 * Starts fauxqs with the init file and FAUXQS_HOST=sqs, as the container does, and lists its queues. fauxqs is
 * ESM-only and this suite runs as CommonJS, hence a child process.
 */
function fauxqsQueues(initFile: string): Promise<FauxqsQueue[]> {
  const script = `
    import { startFauxqs } from 'fauxqs';
    import { SQSClient, ListQueuesCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
    const server = await startFauxqs({ port: 0, host: 'sqs', logger: false, init: process.env.FAUXQS_INIT });
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: server.address,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    try {
      const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
      const queues = [];
      for (const url of QueueUrls) {
        const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
        // The container listens on fauxqs's default port 4566; this one on a free port.
        queues.push({ url: url.replace(':' + server.port + '/', ':4566/'), attributes: Attributes });
      }
      process.stdout.write(JSON.stringify(queues));
    } finally {
      sqs.destroy();
      await server.stop();
    }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, FAUXQS_INIT: initFile, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`fauxqs with ${initFile} failed (exit ${code}): ${stderr}`));
      else resolve(JSON.parse(stdout) as FauxqsQueue[]);
    });
  });
}

describe('docker/Dockerfile', () => {
  const dockerfile = readFileSync(path.join(DOCKER_DIR, 'Dockerfile'), 'utf8');
  // Instructions with their continuation lines joined, comments dropped.
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stageStarts = instructions.flatMap((line, index) => (/^FROM\s/i.test(line) ? [index] : []));
  const finalStage = instructions.slice(stageStarts[stageStarts.length - 1]);
  const inFinal = (keyword: string) => finalStage.filter((line) => line.toUpperCase().startsWith(`${keyword} `));

  it('is multi-stage, every stage on Node 22', () => {
    expect(stageStarts.length).toBeGreaterThanOrEqual(2);
    for (const start of stageStarts) expect(instructions[start]).toMatch(/^FROM\s+node:22[-.\w]*(\s+AS\s+\w+)?$/i);
  });

  it('builds dist/ with all dependencies in a build stage', () => {
    const build = instructions.slice(stageStarts[0], stageStarts[1]);
    expect(build.some((line) => /^RUN .*\bnpm ci\b(?!.*--omit=dev)/.test(line))).toBe(true);
    expect(build.some((line) => /^RUN .*\bnpm run build\b/.test(line))).toBe(true);
  });

  it('installs only production dependencies in the final stage and copies dist/ from the build', () => {
    const installs = inFinal('RUN').filter((line) => /\bnpm (ci|install|i)\b/.test(line));
    expect(installs).toHaveLength(1);
    expect(installs[0]).toMatch(/\bnpm ci\b.*--omit=dev/);
    expect(inFinal('COPY').some((line) => /--from=\w+\s+\/app\/dist\s+\.\/dist$/.test(line))).toBe(true);
    expect(inFinal('COPY').some((line) => /\bsrc\b/.test(line))).toBe(false);
  });

  it('runs node dist/main.js as a non-root user, in production mode, on port 3000', () => {
    const users = inFinal('USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).not.toMatch(/^USER\s+(root|0)(:|$)/i);
    const userAt = finalStage.findIndex((line) => line.startsWith('USER'));
    expect(userAt).toBeLessThan(finalStage.findIndex((line) => line.startsWith('CMD')));
    expect(inFinal('ENV').join(' ')).toMatch(/\bNODE_ENV=production\b/);
    expect(inFinal('EXPOSE')).toEqual(['EXPOSE 3000']);
    expect(inFinal('CMD')).toEqual(['CMD ["node", "dist/main.js"]']);
  });

  describe('HEALTHCHECK', () => {
    const healthcheck = inFinal('HEALTHCHECK');
    const command = JSON.parse(/\bCMD\s+(\[.*\])$/.exec(healthcheck[0] ?? '')?.[1] ?? '[]') as string[];
    let server: Server;
    let port: number;
    let answer: number;
    const paths: string[] = [];

    beforeAll(async () => {
      server = createServer((request, response) => {
        paths.push(request.url ?? '');
        response.writeHead(answer, { 'content-type': 'application/json' }).end('{}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });

    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    /** Runs the image's healthcheck command with this machine's node, as the container's would run it. */
    const probe = (env: { [name: string]: string }): Promise<number | null> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, command.slice(1), { env: { PATH: process.env.PATH, ...env } });
        child.on('error', reject);
        child.on('close', resolve);
      });

    it('is an exec-form node command (slim images have no curl)', () => {
      expect(healthcheck).toHaveLength(1);
      expect(command[0]).toBe('node');
    });

    it('passes while GET /health/live on $PORT answers 200, and fails otherwise', async () => {
      answer = 200;
      expect(await probe({ PORT: String(port) })).toBe(0);
      expect(paths[paths.length - 1]).toBe('/health/live');
      answer = 503;
      expect(await probe({ PORT: String(port) })).toBe(1);
      // Nothing listens on port 9 of 127.0.0.1 (discard): the probe fails instead of hanging.
      expect(await probe({ PORT: '9' })).toBe(1);
    });
  });
});

describe('.dockerignore', () => {
  it('keeps local state, build output and secrets out of the build context', () => {
    const entries = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(entries).toEqual(
      expect.arrayContaining(['node_modules', 'dist', '.git', '.local', 'coverage', 'bench/out', 'cdk.out', '**/.env']),
    );
  });
});
