import { validateCronExpression } from 'cron';
import { ENTITY_ID_PATTERN, MAX_TTL_SECONDS } from '../contract/contract-rules';

export const APP_ROLES = ['gateway', 'worker', 'query', 'admin', 'scheduler'] as const;
export type AppRole = (typeof APP_ROLES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface RedisNode {
  host: string;
  port: number;
}

export interface ProducerKey {
  key: string;
  accountId: string;
}

/** The whole runtime configuration, validated once at start-up (see loadConfig). */
export interface AppConfig {
  port: number;
  roles: ReadonlySet<AppRole>;
  logLevel: LogLevel;
  redis: {
    url: string;
    clusterNodes: RedisNode[] | null;
    keyPrefix: string;
    /** Replicas that must have a message's writes (Redis WAIT) before it is deleted from SQS; 0: none. */
    waitReplicas: number;
  };
  aws: { region: string };
  sqs: {
    endpoint: string | null;
    /** A local SQS (SQS_ENDPOINT set, no AWS credentials in the environment) gets placeholder credentials. */
    localCredentials: boolean;
    queueUrl: string;
    dlqUrl: string;
    batchSize: number;
    visibilityTimeoutSeconds: number;
    waitTimeSeconds: number;
  };
  mongodbUri: string | null;
  archive: {
    cron: string;
    timeZone: string;
    retentionDays: number;
    /** Bound of the write journal, in bytes of its entries. */
    journalMaxBytes: number;
  };
  /** How long a versioned delete's tombstone lives; null: no tombstones. */
  tombstoneTtlSeconds: number | null;
  /** When the scheduler repairs what a crash between two steps of a write can leave (cron). */
  reconcileCron: string;
  /** null means data stored under the default policy never expires. */
  defaultTtlSeconds: number | null;
  maxMessageBytes: number;
  producerKeys: ProducerKey[];
  adminKeys: string[];
  webhookKeySecret: string;
  reads: {
    /** Longest `Prefer: wait` (and batch-get `waitSeconds`) a read is held for. */
    waitMaxSeconds: number;
    /** Bound of the in-process read cache in bytes; 0: no cache. */
    cacheMaxBytes: number;
    /** Failed webhook-key reads per client address and minute before its reads answer 429; 0: no limit. */
    missLimitPerMinute: number;
    /** The client address is the left-most X-Forwarded-For entry instead of the socket's. */
    trustProxy: boolean;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Reads and validates every variable of the configuration (docs/contract.md). Collects all problems before failing so that an operator
 * fixes a broken deployment in one pass; each problem is one line naming the variable.
 */
export function loadConfig(env: Env): AppConfig {
  const problems: string[] = [];
  const read = new EnvReader(env, problems);

  const roles = read.roles('APP_ROLES', 'all');
  const has = (...wanted: AppRole[]) => wanted.some((role) => roles.has(role));
  const needsSqs = has('gateway', 'worker');

  const clusterNodes = read.redisNodes('REDIS_CLUSTER_NODES');
  const config: AppConfig = {
    port: read.int('PORT', 3000, 0, 65535),
    roles,
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    redis: {
      url: read.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
      clusterNodes,
      keyPrefix: read.pattern('REDIS_KEY_PREFIX', 'sg:', /^[A-Za-z0-9:._-]{1,32}$/, 'up to 32 of A-Z a-z 0-9 : . _ -'),
      waitReplicas: read.int('REDIS_WAIT_REPLICAS', 0, 0, 100),
    },
    aws: { region: read.pattern('AWS_REGION', 'us-east-1', /^[a-z0-9-]{2,32}$/, 'an AWS region such as us-east-1') },
    sqs: {
      endpoint: read.optionalUrl('SQS_ENDPOINT', ['http:', 'https:']),
      localCredentials: read.isSet('SQS_ENDPOINT') && !read.isSet('AWS_ACCESS_KEY_ID'),
      queueUrl: needsSqs ? read.requiredFifoQueueUrl('SQS_QUEUE_URL', 'gateway or worker') : '',
      dlqUrl: has('worker') ? read.requiredFifoQueueUrl('SQS_DLQ_URL', 'worker') : '',
      batchSize: read.int('SQS_BATCH_SIZE', 10, 1, 10),
      visibilityTimeoutSeconds: read.int('SQS_VISIBILITY_TIMEOUT', 30, 1, 43200),
      waitTimeSeconds: read.int('SQS_WAIT_TIME_SECONDS', 20, 0, 20),
    },
    mongodbUri: read.mongodbUri('MONGODB_URI'),
    archive: {
      cron: read.cron('ARCHIVE_CRON', '0 2 * * *'),
      timeZone: read.timeZone('ARCHIVE_TZ', 'UTC'),
      retentionDays: read.int('ARCHIVE_RETENTION_DAYS', 90, 0, 36500),
      journalMaxBytes: read.int('ARCHIVE_JOURNAL_MAX_BYTES', 268_435_456, 1_048_576, 1_099_511_627_776),
    },
    tombstoneTtlSeconds: nullWhenZero(read.int('TOMBSTONE_TTL_SECONDS', 604800, 0, MAX_TTL_SECONDS)),
    reconcileCron: read.cron('RECONCILE_CRON', '30 * * * *'),
    defaultTtlSeconds: nullWhenZero(read.int('DEFAULT_TTL_SECONDS', 604800, 0, MAX_TTL_SECONDS)),
    maxMessageBytes: read.int('MAX_MESSAGE_BYTES', 262144, 1024, 1048576),
    producerKeys: has('gateway') ? read.producerKeys('PRODUCER_API_KEYS') : [],
    adminKeys: has('admin') ? read.apiKeyList('ADMIN_API_KEYS') : [],
    webhookKeySecret: has('worker', 'query', 'admin')
      ? read.secret('WEBHOOK_KEY_SECRET', 'worker, query or admin')
      : (env.WEBHOOK_KEY_SECRET ?? ''),
    reads: {
      waitMaxSeconds: read.int('READ_WAIT_MAX_SECONDS', 60, 1, 3600),
      cacheMaxBytes: read.int('READ_CACHE_MAX_BYTES', 67_108_864, 0, 68_719_476_736),
      missLimitPerMinute: read.int('READ_MISS_LIMIT_PER_MINUTE', 600, 0, 1_000_000_000),
      trustProxy: read.flag('TRUST_PROXY'),
    },
  };

  const apiKeys = [...config.producerKeys.map(({ key }) => key), ...config.adminKeys];
  if (new Set(apiKeys).size !== apiKeys.length) {
    problems.push(
      'PRODUCER_API_KEYS, ADMIN_API_KEYS: a key is listed twice; each key must identify one account or admin',
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function nullWhenZero(value: number): number | null {
  return value === 0 ? null : value;
}

const MIN_API_KEY_LENGTH = 16;

class EnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  private raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === '' ? undefined : value;
  }

  isSet(name: string): boolean {
    return this.raw(name) !== undefined;
  }

  private fail<T>(name: string, problem: string, fallback: T): T {
    this.problems.push(`${name}: ${problem}`);
    return fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      return this.fail(name, `must be an integer from ${min} to ${max}, got "${value}"`, fallback);
    }
    return Number(value);
  }

  /** Off unless set; `true`/`1`/`yes` turn it on, `false`/`0`/`no` (or nothing) leave it off. */
  flag(name: string): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined || ['false', '0', 'no'].includes(value)) return false;
    if (['true', '1', 'yes'].includes(value)) return true;
    return this.fail(name, `must be true or false, got "${value}"`, false);
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      return this.fail(name, `must be one of ${allowed.join(', ')}, got "${value}"`, fallback);
    }
    return value as T;
  }

  pattern(name: string, fallback: string, pattern: RegExp, described: string): string {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    return pattern.test(value) ? value : this.fail(name, `must be ${described}, got "${value}"`, fallback);
  }

  roles(name: string, fallback: string): ReadonlySet<AppRole> {
    const entries = (this.raw(name) ?? fallback)
      .split(',')
      .map((role) => role.trim())
      .filter(Boolean);
    if (entries.length === 1 && entries[0] === 'all') return new Set(APP_ROLES);
    const unknown = entries.filter((role) => !(APP_ROLES as readonly string[]).includes(role));
    if (unknown.length > 0 || entries.length === 0) {
      return this.fail(
        name,
        `must be "all" or a comma list of ${APP_ROLES.join(', ')}; unknown: ${unknown.join(', ') || '(empty)'}`,
        new Set<AppRole>(),
      );
    }
    return new Set(entries as AppRole[]);
  }

  url(name: string, fallback: string, protocols: string[]): string {
    return this.optionalUrl(name, protocols) ?? fallback;
  }

  optionalUrl(name: string, protocols: string[]): string | null {
    const value = this.raw(name);
    if (value === undefined) return null;
    try {
      const url = new URL(value);
      if (protocols.includes(url.protocol)) return value;
    } catch {
      // reported below
    }
    return this.fail(name, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`, null);
  }

  /** A MongoDB connection string; the replica-set form (several hosts) is not a WHATWG URL, so no URL parsing. */
  mongodbUri(name: string): string | null {
    const value = this.raw(name);
    if (value === undefined) return null;
    if (/^mongodb(\+srv)?:\/\/[^\s/]+/.test(value)) return value;
    return this.fail(name, 'must be a MongoDB connection string starting with mongodb:// or mongodb+srv://', null);
  }

  requiredFifoQueueUrl(name: string, roles: string): string {
    const value = this.raw(name);
    if (value === undefined) return this.fail(name, `is required when APP_ROLES includes ${roles}`, '');
    const url = this.optionalUrl(name, ['http:', 'https:']);
    if (url !== null && !url.endsWith('.fifo')) {
      return this.fail(name, 'must be the URL of a FIFO queue (its name ends in .fifo)', '');
    }
    return url ?? '';
  }

  redisNodes(name: string): RedisNode[] | null {
    const value = this.raw(name);
    if (value === undefined) return null;
    const nodes: RedisNode[] = [];
    for (const entry of value.split(',').map((item) => item.trim())) {
      const match = /^([^\s:]+):(\d{1,5})$/.exec(entry);
      if (!match || Number(match[2]) > 65535) {
        return this.fail(name, `must be a comma list of host:port (entry ${nodes.length + 1} is not)`, null);
      }
      nodes.push({ host: match[1], port: Number(match[2]) });
    }
    return nodes;
  }

  cron(name: string, fallback: string): string {
    const value = this.raw(name) ?? fallback;
    const check = validateCronExpression(value);
    if (!check.valid) {
      return this.fail(
        name,
        `must be a cron expression (5 or 6 fields): ${check.error?.message ?? 'invalid'}, got "${value}"`,
        fallback,
      );
    }
    return value;
  }

  timeZone(name: string, fallback: string): string {
    const value = this.raw(name) ?? fallback;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: value });
      return value;
    } catch {
      return this.fail(name, `must be an IANA time zone such as UTC or Europe/Paris, got "${value}"`, fallback);
    }
  }

  secret(name: string, roles: string): string {
    const value = this.raw(name);
    if (value === undefined) return this.fail(name, `is required when APP_ROLES includes ${roles}`, '');
    if (value.length < 16) return this.fail(name, 'must be at least 16 characters long', '');
    return value;
  }

  apiKeyList(name: string): string[] {
    const value = this.raw(name);
    if (value === undefined) return this.fail(name, 'is required when APP_ROLES includes admin', []);
    const keys = value.split(',').map((key) => key.trim());
    if (keys.some((key) => key.length < MIN_API_KEY_LENGTH || /\s/.test(key))) {
      return this.fail(name, `every key must be at least ${MIN_API_KEY_LENGTH} characters without whitespace`, []);
    }
    return keys;
  }

  producerKeys(name: string): ProducerKey[] {
    const value = this.raw(name);
    if (value === undefined) return this.fail(name, 'is required when APP_ROLES includes gateway', []);
    const bindings: ProducerKey[] = [];
    for (const entry of value.split(',').map((item) => item.trim())) {
      const separator = entry.lastIndexOf(':');
      const key = entry.slice(0, separator);
      const accountId = entry.slice(separator + 1);
      if (separator < 0 || key.length < MIN_API_KEY_LENGTH || /\s/.test(key) || !ENTITY_ID_PATTERN.test(accountId)) {
        return this.fail(
          name,
          `must be a comma list of key:accountId (keys of at least ${MIN_API_KEY_LENGTH} characters, ` +
            'account ids of A-Z a-z 0-9 . _ -)',
          [],
        );
      }
      bindings.push({ key, accountId });
    }
    return bindings;
  }
}
