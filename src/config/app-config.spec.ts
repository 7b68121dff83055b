import { APP_ROLES, apiKeyFingerprint, AppConfig, ConfigError, loadConfig } from './app-config';

type Env = Record<string, string | undefined>;

const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/records.fifo';
const DLQ_URL = 'http://127.0.0.1:4566/000000000000/records-dlq.fifo';
const PRODUCER_KEY = 'producer-key-0123456789';
const ADMIN_KEY = 'admin-key-0123456789ab';
const WEBHOOK_SECRET = 'webhook-secret-0123456789';

/** Everything the default role set ("all") requires, and nothing else. */
function completeEnv(overrides: Env = {}): Env {
  return {
    SQS_QUEUE_URL: QUEUE_URL,
    SQS_DLQ_URL: DLQ_URL,
    PRODUCER_API_KEYS: `${PRODUCER_KEY}:acme`,
    ADMIN_API_KEYS: ADMIN_KEY,
    WEBHOOK_KEY_SECRET: WEBHOOK_SECRET,
    ...overrides,
  };
}

function configError(env: Env): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

function problemsOf(env: Env): string[] {
  return configError(env).problems;
}

function problemVariables(env: Env): string[] {
  return problemsOf(env).map((problem) => problem.slice(0, problem.indexOf(':')));
}

describe('loadConfig', () => {
  describe('defaults', () => {
    let config: AppConfig;

    beforeAll(() => {
      config = loadConfig(completeEnv());
    });

    it('listens on port 3000', () => {
      expect(config.port).toBe(3000);
    });

    it('runs every role when APP_ROLES is unset', () => {
      expect([...config.roles].sort()).toEqual([...APP_ROLES].sort());
    });

    it('treats an empty APP_ROLES like an unset one', () => {
      expect(loadConfig(completeEnv({ APP_ROLES: '' })).roles.size).toBe(APP_ROLES.length);
    });

    it('uses a local standalone Redis with the sg: key prefix', () => {
      expect(config.redis).toEqual({
        url: 'redis://127.0.0.1:6379',
        clusterNodes: null,
        keyPrefix: 'sg:',
        waitReplicas: 0,
      });
    });

    it('keeps data for seven days when no policy applies', () => {
      expect(config.defaultTtlSeconds).toBe(604800);
    });

    it('accepts message bodies up to 262144 bytes', () => {
      expect(config.maxMessageBytes).toBe(262144);
    });

    it('archives at 02:00 UTC', () => {
      expect(config.archive.cron).toBe('0 2 * * *');
      expect(config.archive.timeZone).toBe('UTC');
    });

    it('uses AWS in us-east-1 with SQS batches of 10 and a 30 s visibility timeout', () => {
      expect(config.aws.region).toBe('us-east-1');
      expect(config.sqs.endpoint).toBeNull();
      expect(config.sqs.batchSize).toBe(10);
      expect(config.sqs.visibilityTimeoutSeconds).toBe(30);
    });

    it('logs at info and leaves the archive off', () => {
      expect(config.logLevel).toBe('info');
      expect(config.mongodbUri).toBeNull();
    });
  });

  describe('integrity settings', () => {
    it('default to seven-day tombstones, a 256 MiB journal, no replica wait and an hourly reconciler', () => {
      const config = loadConfig(completeEnv());
      expect(config.tombstoneTtlSeconds).toBe(604800);
      expect(config.archive.journalMaxBytes).toBe(268435456);
      expect(config.redis.waitReplicas).toBe(0);
      expect(config.reconcileCron).toBe('30 * * * *');
    });

    it('reads TOMBSTONE_TTL_SECONDS=0 as "no tombstones" (null)', () => {
      expect(loadConfig(completeEnv({ TOMBSTONE_TTL_SECONDS: '0' })).tombstoneTtlSeconds).toBeNull();
    });

    it.each([
      ['TOMBSTONE_TTL_SECONDS', '-1'],
      ['ARCHIVE_JOURNAL_MAX_BYTES', '1000'],
      ['REDIS_WAIT_REPLICAS', 'two'],
      ['RECONCILE_CRON', 'hourly'],
    ])('rejects %s=%s', (name, value) => {
      expect(problemVariables(completeEnv({ [name]: value }))).toEqual([name]);
    });
  });

  describe('read settings', () => {
    it('default to 60 s waits, a 64 MiB read cache and 600 misses a minute per socket address', () => {
      expect(loadConfig(completeEnv()).reads).toEqual({
        waitMaxSeconds: 60,
        cacheMaxBytes: 67108864,
        missLimitPerMinute: 600,
        trustProxy: false,
      });
    });

    it('reads 0 as "off" for the cache and the miss limit', () => {
      const { reads } = loadConfig(completeEnv({ READ_CACHE_MAX_BYTES: '0', READ_MISS_LIMIT_PER_MINUTE: '0' }));
      expect([reads.cacheMaxBytes, reads.missLimitPerMinute]).toEqual([0, 0]);
    });

    it.each([
      ['true', true],
      ['1', true],
      ['yes', true],
      ['false', false],
      ['0', false],
      ['', false],
    ])('reads TRUST_PROXY=%p as %p', (value, expected) => {
      expect(loadConfig(completeEnv({ TRUST_PROXY: value })).reads.trustProxy).toBe(expected);
    });

    it.each([
      ['READ_WAIT_MAX_SECONDS', '0'],
      ['READ_WAIT_MAX_SECONDS', '3601'],
      ['READ_CACHE_MAX_BYTES', '-1'],
      ['READ_CACHE_MAX_BYTES', '64MiB'],
      ['READ_MISS_LIMIT_PER_MINUTE', 'many'],
      ['TRUST_PROXY', 'loopback'],
    ])('rejects %s=%s', (name, value) => {
      expect(problemVariables(completeEnv({ [name]: value }))).toEqual([name]);
    });
  });

  describe('DEFAULT_TTL_SECONDS', () => {
    it('reads 0 as "never expires" (null)', () => {
      expect(loadConfig(completeEnv({ DEFAULT_TTL_SECONDS: '0' })).defaultTtlSeconds).toBeNull();
    });

    it('reads a positive number of seconds', () => {
      expect(loadConfig(completeEnv({ DEFAULT_TTL_SECONDS: '3600' })).defaultTtlSeconds).toBe(3600);
    });

    it.each(['-1', '1.5', 'week', '315360001'])('rejects %p', (value) => {
      expect(problemVariables(completeEnv({ DEFAULT_TTL_SECONDS: value }))).toEqual(['DEFAULT_TTL_SECONDS']);
    });
  });

  describe('role-dependent requirements', () => {
    it('needs the queue and dead-letter queue URLs for the scheduler role alone (it sweeps the DLQ)', () => {
      expect(problemVariables({ APP_ROLES: 'scheduler' }).sort()).toEqual(['SQS_DLQ_URL', 'SQS_QUEUE_URL']);
      expect(loadConfig({ APP_ROLES: 'scheduler', SQS_QUEUE_URL: QUEUE_URL, SQS_DLQ_URL: DLQ_URL }).roles).toEqual(
        new Set(['scheduler']),
      );
    });

    it('needs the queue URL and producer keys for the gateway, but no DLQ and no webhook key secret', () => {
      expect(problemVariables({ APP_ROLES: 'gateway' }).sort()).toEqual(['PRODUCER_API_KEYS', 'SQS_QUEUE_URL']);
    });

    it('needs the queue URL, the DLQ URL and the webhook key secret for the worker', () => {
      expect(problemVariables({ APP_ROLES: 'worker' }).sort()).toEqual([
        'SQS_DLQ_URL',
        'SQS_QUEUE_URL',
        'WEBHOOK_KEY_SECRET',
      ]);
    });

    it('needs only the webhook key secret for the query role', () => {
      expect(problemVariables({ APP_ROLES: 'query' })).toEqual(['WEBHOOK_KEY_SECRET']);
    });

    it('needs the admin keys, the webhook key secret and both queues (redrive) for the admin role', () => {
      expect(problemVariables({ APP_ROLES: 'admin' }).sort()).toEqual([
        'ADMIN_API_KEYS',
        'SQS_DLQ_URL',
        'SQS_QUEUE_URL',
        'WEBHOOK_KEY_SECRET',
      ]);
    });

    it('says which roles require a missing variable', () => {
      expect(problemsOf({ APP_ROLES: 'worker' })).toContain(
        'SQS_DLQ_URL: is required when APP_ROLES includes worker, admin or scheduler',
      );
    });

    it('starts a worker that has everything it needs', () => {
      const config = loadConfig({
        APP_ROLES: 'worker',
        SQS_QUEUE_URL: QUEUE_URL,
        SQS_DLQ_URL: DLQ_URL,
        WEBHOOK_KEY_SECRET: WEBHOOK_SECRET,
      });
      expect(config.sqs.queueUrl).toBe(QUEUE_URL);
      expect(config.sqs.dlqUrl).toBe(DLQ_URL);
      expect(config.producerKeys).toEqual([]);
      expect(config.adminKeys).toEqual([]);
    });

    it.each([
      ['SQS_QUEUE_URL', 'http://127.0.0.1:4566/000000000000/records'],
      ['SQS_DLQ_URL', 'http://127.0.0.1:4566/000000000000/records-dlq'],
    ])('rejects a %s that is not a FIFO queue', (name, url) => {
      expect(problemsOf(completeEnv({ [name]: url }))).toEqual([
        `${name}: must be the URL of a FIFO queue (its name ends in .fifo)`,
      ]);
    });

    it('rejects a queue URL that is not an http(s) URL', () => {
      expect(problemVariables(completeEnv({ SQS_QUEUE_URL: 'records.fifo' }))).toEqual(['SQS_QUEUE_URL']);
    });
  });

  describe('WEBHOOK_KEY_SECRET', () => {
    it('rejects a secret of 15 characters', () => {
      expect(problemsOf(completeEnv({ WEBHOOK_KEY_SECRET: 'x'.repeat(15) }))).toEqual([
        'WEBHOOK_KEY_SECRET: must be at least 16 characters long',
      ]);
    });

    it('accepts a secret of 16 characters, as a list of one', () => {
      expect(loadConfig(completeEnv({ WEBHOOK_KEY_SECRET: 'x'.repeat(16) })).webhookKeySecrets).toEqual([
        'x'.repeat(16),
      ]);
    });
  });

  describe('WEBHOOK_KEY_SECRETS', () => {
    const rotated = (secrets: string) => completeEnv({ WEBHOOK_KEY_SECRET: undefined, WEBHOOK_KEY_SECRETS: secrets });

    it('reads a comma list, newest first, trimming spaces', () => {
      expect(loadConfig(rotated('secret-b-0123456789, secret-a-0123456789')).webhookKeySecrets).toEqual([
        'secret-b-0123456789',
        'secret-a-0123456789',
      ]);
    });

    it('refuses it together with WEBHOOK_KEY_SECRET, in one line', () => {
      expect(problemsOf(completeEnv({ WEBHOOK_KEY_SECRETS: 'secret-b-0123456789' }))).toEqual([
        'WEBHOOK_KEY_SECRETS: set either it or WEBHOOK_KEY_SECRET, not both',
      ]);
    });

    it('requires one of the two', () => {
      expect(problemVariables(completeEnv({ WEBHOOK_KEY_SECRET: undefined }))).toEqual(['WEBHOOK_KEY_SECRET']);
    });

    it.each([
      ['a short secret', 'secret-b-0123456789,short'],
      ['a secret listed twice', 'secret-b-0123456789,secret-b-0123456789'],
      ['an empty entry', 'secret-b-0123456789,'],
    ])('refuses %s without echoing a secret', (_case, secrets) => {
      const problems = problemsOf(rotated(secrets));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^WEBHOOK_KEY_SECRETS: /);
      expect(problems[0]).not.toContain('secret-b');
    });

    it('refuses more than one secret on a Redis Cluster', () => {
      expect(
        problemsOf({ ...rotated('secret-b-0123456789,secret-a-0123456789'), REDIS_CLUSTER_NODES: 'redis-1:7000' }),
      ).toEqual(['WEBHOOK_KEY_SECRETS: more than one secret is not supported with REDIS_CLUSTER_NODES']);
    });
  });

  describe('API key ids', () => {
    it('names a key given without an id by a fingerprint that does not contain the key', () => {
      const [producer] = loadConfig(completeEnv()).producerKeys;
      expect(producer.id).toMatch(/^key-[0-9a-f]{12}$/);
      expect(producer.id).toBe(apiKeyFingerprint(PRODUCER_KEY));
      expect(PRODUCER_KEY).not.toContain(producer.id.slice(4));
    });

    it('reads id=key:accountId for producers and id=key for admins', () => {
      const config = loadConfig(
        completeEnv({ PRODUCER_API_KEYS: `ingest-1=${PRODUCER_KEY}:acme`, ADMIN_API_KEYS: `ops.alice=${ADMIN_KEY}` }),
      );
      expect(config.producerKeys).toEqual([{ id: 'ingest-1', key: PRODUCER_KEY, accountId: 'acme' }]);
      expect(config.adminKeys).toEqual([{ id: 'ops.alice', key: ADMIN_KEY }]);
    });

    it('keeps a base64 key with padding whole when what follows its = is not a key', () => {
      const key = 'QUJDREVGR0hJSktMTU5PUA==';
      expect(loadConfig(completeEnv({ ADMIN_API_KEYS: key })).adminKeys).toEqual([{ id: apiKeyFingerprint(key), key }]);
    });

    it('takes a key containing = whole after an explicit id', () => {
      expect(loadConfig(completeEnv({ ADMIN_API_KEYS: 'ops=abc=0123456789abcdef' })).adminKeys).toEqual([
        { id: 'ops', key: 'abc=0123456789abcdef' },
      ]);
    });

    it('refuses an id given to two keys, across both lists, in one line', () => {
      const problems = problemsOf(
        completeEnv({ PRODUCER_API_KEYS: `ops=${PRODUCER_KEY}:acme`, ADMIN_API_KEYS: `ops=${ADMIN_KEY}` }),
      );
      expect(problems).toEqual(['PRODUCER_API_KEYS, ADMIN_API_KEYS: key id ops is given to more than one key']);
    });

    it('refuses a key listed twice under different ids, without echoing it', () => {
      const problems = problemsOf(completeEnv({ ADMIN_API_KEYS: `one=${ADMIN_KEY},two=${ADMIN_KEY}` }));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/a key is listed twice/);
      expect(problems[0]).not.toContain(ADMIN_KEY);
    });
  });

  describe('reporting', () => {
    const brokenEnv: Env = {
      APP_ROLES: 'gateway,worker,admin',
      PORT: 'eighty',
      LOG_LEVEL: 'verbose',
      SQS_DLQ_URL: 'http://127.0.0.1:4566/000000000000/records-dlq',
      ARCHIVE_TZ: 'Mars/Olympus_Mons',
      MAX_MESSAGE_BYTES: '10',
    };

    it('reports every problem at once, one line each, each naming its variable', () => {
      const problems = problemsOf(brokenEnv);
      expect(problemVariables(brokenEnv).sort()).toEqual([
        'ADMIN_API_KEYS',
        'ARCHIVE_TZ',
        'LOG_LEVEL',
        'MAX_MESSAGE_BYTES',
        'PORT',
        'PRODUCER_API_KEYS',
        'SQS_DLQ_URL',
        'SQS_QUEUE_URL',
        'WEBHOOK_KEY_SECRET',
      ]);
      for (const problem of problems) expect(problem).not.toContain('\n');
    });

    it('puts every problem in the error message, one per line', () => {
      const error = configError(brokenEnv);
      expect(error.name).toBe('ConfigError');
      expect(error.message.split('\n')).toEqual(['Invalid configuration:', ...error.problems]);
    });

    it('shows the offending value of a non-secret variable', () => {
      expect(problemsOf(completeEnv({ PORT: '70000' }))).toEqual([
        'PORT: must be an integer from 0 to 65535, got "70000"',
      ]);
    });
  });

  describe('secrets in problem text', () => {
    const secrets = {
      producerKey: 'pr0ducer-S3CRET-key',
      adminKey: 'adm1n-S3CRET',
      webhookSecret: 'hm4c-S3CRET',
      mongoPassword: 'm0ngo-P4SSWORD',
      redisPassword: 'r3dis-P4SSWORD',
    };
    const env: Env = {
      PRODUCER_API_KEYS: `${secrets.producerKey}:not a valid account`,
      ADMIN_API_KEYS: secrets.adminKey,
      WEBHOOK_KEY_SECRET: secrets.webhookSecret,
      MONGODB_URI: `http://archiver:${secrets.mongoPassword}@mongo:27017/archive`,
      REDIS_URL: `http://default:${secrets.redisPassword}@cache:6379`,
      SQS_QUEUE_URL: QUEUE_URL,
      SQS_DLQ_URL: DLQ_URL,
    };

    it('reports each invalid secret-bearing variable', () => {
      expect(problemVariables(env).sort()).toEqual([
        'ADMIN_API_KEYS',
        'MONGODB_URI',
        'PRODUCER_API_KEYS',
        'REDIS_URL',
        'WEBHOOK_KEY_SECRET',
      ]);
    });

    it.each(Object.entries(secrets))('never includes the %s', (_name, secret) => {
      const error = configError(env);
      for (const problem of error.problems) expect(problem).not.toContain(secret);
      expect(error.message).not.toContain(secret);
    });

    it('keeps a short producer key out of the problem', () => {
      const problems = problemsOf(completeEnv({ PRODUCER_API_KEYS: 'sh0rtS3cret:acme' }));
      expect(problems).toHaveLength(1);
      expect(problems[0]).not.toContain('sh0rtS3cret');
    });

    it('keeps a valid password-bearing MONGODB_URI out of unrelated problems', () => {
      const problems = problemsOf(
        completeEnv({ MONGODB_URI: `mongodb://archiver:${secrets.mongoPassword}@mongo:27017/archive`, PORT: 'x' }),
      );
      expect(problems.join('\n')).not.toContain(secrets.mongoPassword);
    });
  });

  describe('REDIS_URL and MONGODB_URI', () => {
    it('accepts redis:// and rediss:// URLs with a password', () => {
      expect(loadConfig(completeEnv({ REDIS_URL: 'rediss://:pw@cache:6380' })).redis.url).toBe(
        'rediss://:pw@cache:6380',
      );
    });

    it('accepts a mongodb:// URI, which turns the archive on', () => {
      const uri = 'mongodb://archiver:pw@mongo:27017/archive?authSource=admin';
      expect(loadConfig(completeEnv({ MONGODB_URI: uri })).mongodbUri).toBe(uri);
    });

    it('accepts a mongodb+srv:// URI', () => {
      const uri = 'mongodb+srv://archiver:pw@cluster0.example.net/archive';
      expect(loadConfig(completeEnv({ MONGODB_URI: uri })).mongodbUri).toBe(uri);
    });
  });

  describe('REDIS_CLUSTER_NODES', () => {
    it('parses a comma list of host:port, trimming spaces', () => {
      expect(
        loadConfig(completeEnv({ REDIS_CLUSTER_NODES: 'redis-1:7000, redis-2:7001 ,10.0.0.3:7002' })).redis
          .clusterNodes,
      ).toEqual([
        { host: 'redis-1', port: 7000 },
        { host: 'redis-2', port: 7001 },
        { host: '10.0.0.3', port: 7002 },
      ]);
    });

    it('parses a single node', () => {
      expect(loadConfig(completeEnv({ REDIS_CLUSTER_NODES: 'redis-1:6379' })).redis.clusterNodes).toEqual([
        { host: 'redis-1', port: 6379 },
      ]);
    });

    it.each(['redis-1', 'redis-1:', ':7000', 'redis-1:seven', 'redis-1:65536', 'redis-1:7000,', 'redis 1:7000'])(
      'rejects %p',
      (value) => {
        expect(problemVariables(completeEnv({ REDIS_CLUSTER_NODES: value }))).toEqual(['REDIS_CLUSTER_NODES']);
      },
    );
  });

  describe('PRODUCER_API_KEYS', () => {
    it('binds each key to its account', () => {
      expect(
        loadConfig(completeEnv({ PRODUCER_API_KEYS: 'producer-key-aaaaaaa:acme, producer-key-bbbbbbb:globex.eu' }))
          .producerKeys,
      ).toEqual([
        { id: apiKeyFingerprint('producer-key-aaaaaaa'), key: 'producer-key-aaaaaaa', accountId: 'acme' },
        { id: apiKeyFingerprint('producer-key-bbbbbbb'), key: 'producer-key-bbbbbbb', accountId: 'globex.eu' },
      ]);
    });

    it('splits on the last colon, so a key may contain colons', () => {
      expect(loadConfig(completeEnv({ PRODUCER_API_KEYS: 'k:e:y-0123456789abc:acme' })).producerKeys).toEqual([
        { id: apiKeyFingerprint('k:e:y-0123456789abc'), key: 'k:e:y-0123456789abc', accountId: 'acme' },
      ]);
    });

    it('accepts a key of 16 characters', () => {
      expect(loadConfig(completeEnv({ PRODUCER_API_KEYS: `${'k'.repeat(16)}:acme` })).producerKeys).toEqual([
        { id: apiKeyFingerprint('k'.repeat(16)), key: 'k'.repeat(16), accountId: 'acme' },
      ]);
    });

    it.each([
      ['a key of 15 characters', `${'k'.repeat(15)}:acme`],
      ['an entry without an account', 'producer-key-aaaaaaa'],
      ['an empty account', 'producer-key-aaaaaaa:'],
      ['an account outside the id pattern', 'producer-key-aaaaaaa:acme corp'],
      ['an account of 64 characters', `producer-key-aaaaaaa:${'a'.repeat(64)}`],
      ['a key with whitespace', 'producer key aaaaaaa:acme'],
    ])('rejects %s', (_case, value) => {
      expect(problemVariables(completeEnv({ PRODUCER_API_KEYS: value }))).toEqual(['PRODUCER_API_KEYS']);
    });
  });

  describe('ADMIN_API_KEYS', () => {
    it('reads a comma list of keys, trimming spaces', () => {
      expect(
        loadConfig(completeEnv({ ADMIN_API_KEYS: 'admin-key-aaaaaaaa, admin-key-bbbbbbbb' })).adminKeys.map(
          ({ key }) => key,
        ),
      ).toEqual(['admin-key-aaaaaaaa', 'admin-key-bbbbbbbb']);
    });

    it('rejects a key shorter than 16 characters', () => {
      expect(problemVariables(completeEnv({ ADMIN_API_KEYS: `admin-key-aaaaaaaa,${'k'.repeat(15)}` }))).toEqual([
        'ADMIN_API_KEYS',
      ]);
    });
  });

  describe('APP_ROLES', () => {
    it('reads a comma list of roles', () => {
      const config = loadConfig({
        APP_ROLES: 'query, scheduler',
        WEBHOOK_KEY_SECRET: WEBHOOK_SECRET,
        SQS_QUEUE_URL: QUEUE_URL,
        SQS_DLQ_URL: DLQ_URL,
      });
      expect(config.roles).toEqual(new Set(['query', 'scheduler']));
      expect(config.roles.has('query')).toBe(true);
      expect(config.roles.has('gateway')).toBe(false);
    });

    it('names the unknown entries', () => {
      const problems = problemsOf({ APP_ROLES: 'query,archiver,api' });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^APP_ROLES: .*unknown: archiver, api$/);
    });

    it('rejects "all" mixed with other roles', () => {
      expect(problemVariables({ APP_ROLES: 'all,gateway' })).toEqual(['APP_ROLES']);
    });

    it('rejects a list without any role', () => {
      expect(problemsOf({ APP_ROLES: ' , ' })[0]).toMatch(/^APP_ROLES: .*\(empty\)$/);
    });
  });

  describe('ARCHIVE_CRON and ARCHIVE_TZ', () => {
    it('accepts an IANA time zone', () => {
      expect(loadConfig(completeEnv({ ARCHIVE_TZ: 'Europe/Paris' })).archive.timeZone).toBe('Europe/Paris');
    });

    it('rejects an unknown time zone and shows it', () => {
      expect(problemsOf(completeEnv({ ARCHIVE_TZ: 'Mars/Olympus_Mons' }))).toEqual([
        'ARCHIVE_TZ: must be an IANA time zone such as UTC or Europe/Paris, got "Mars/Olympus_Mons"',
      ]);
    });

    it('accepts a six-field cron expression', () => {
      expect(loadConfig(completeEnv({ ARCHIVE_CRON: '0 30 3 * * 1-5' })).archive.cron).toBe('0 30 3 * * 1-5');
    });

    it.each(['0 2 * *', 'at two', '0 2 * * * * *'])('rejects the cron expression %p', (value) => {
      expect(problemVariables(completeEnv({ ARCHIVE_CRON: value }))).toEqual(['ARCHIVE_CRON']);
    });
  });

  describe('sqs.localCredentials', () => {
    it('is on for a local endpoint without AWS credentials in the environment', () => {
      const config = loadConfig(completeEnv({ SQS_ENDPOINT: 'http://127.0.0.1:4566' }));
      expect(config.sqs.endpoint).toBe('http://127.0.0.1:4566');
      expect(config.sqs.localCredentials).toBe(true);
    });

    it('is off when AWS credentials are in the environment', () => {
      const config = loadConfig(
        completeEnv({ SQS_ENDPOINT: 'http://127.0.0.1:4566', AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE' }),
      );
      expect(config.sqs.localCredentials).toBe(false);
    });

    it('is off without an endpoint (real AWS)', () => {
      expect(loadConfig(completeEnv()).sqs.localCredentials).toBe(false);
    });
  });
});

describe('loadConfig: findings of the first review', () => {
  const base = { APP_ROLES: 'scheduler', SQS_QUEUE_URL: QUEUE_URL, SQS_DLQ_URL: DLQ_URL };

  it('accepts a replica-set MongoDB connection string with several hosts', () => {
    const uri = 'mongodb://archiver:pw@mongo1:27017,mongo2:27017,mongo3:27017/archive?replicaSet=rs0';
    expect(loadConfig({ ...base, MONGODB_URI: uri }).mongodbUri).toBe(uri);
  });

  it('does not use placeholder credentials when SQS_ENDPOINT is present but empty', () => {
    expect(loadConfig({ ...base, SQS_ENDPOINT: '' }).sqs).toMatchObject({ endpoint: null, localCredentials: false });
    expect(
      loadConfig({ ...base, SQS_ENDPOINT: 'http://127.0.0.1:4566', AWS_ACCESS_KEY_ID: '' }).sqs.localCredentials,
    ).toBe(true);
  });

  it('does not repeat a malformed REDIS_CLUSTER_NODES entry, which may hold a password', () => {
    const problems = (() => {
      try {
        loadConfig({ ...base, REDIS_CLUSTER_NODES: 'default:S3cretPass@redis-1:7000' });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    })();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^REDIS_CLUSTER_NODES: /);
    expect(problems[0]).not.toContain('S3cretPass');
  });

  it('refuses an API key listed twice, within or across PRODUCER_API_KEYS and ADMIN_API_KEYS', () => {
    const env = {
      APP_ROLES: 'gateway,admin',
      SQS_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/ingest.fifo',
      WEBHOOK_KEY_SECRET: 'a-secret-of-enough-length',
    };
    expect(() =>
      loadConfig({
        ...env,
        PRODUCER_API_KEYS: 'shared-key-0123456789:acme,shared-key-0123456789:globex',
        ADMIN_API_KEYS: 'admin-key-0123456789',
      }),
    ).toThrow(/listed twice/);
    expect(() =>
      loadConfig({ ...env, PRODUCER_API_KEYS: 'shared-key-0123456789:acme', ADMIN_API_KEYS: 'shared-key-0123456789' }),
    ).toThrow(/listed twice/);
  });
});
