import { validateCronExpression } from 'cron';
import { createHash } from 'node:crypto';
import { ENTITY_ID_PATTERN, MAX_TTL_SECONDS } from '../contract/contract-rules';

export const APP_ROLES = ['gateway', 'worker', 'query', 'admin', 'scheduler'] as const;
export type AppRole = (typeof APP_ROLES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface RedisNode {
  host: string;
  port: number;
}

/** An API key and the id that names it in logs and the audit (the key itself is never shown). */
export interface ApiKey {
  id: string;
  key: string;
}

export interface ProducerKey extends ApiKey {
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
  /** How long a message's status (GET /v1/records/:messageId) stays readable. */
  statusTtlSeconds: number;
  /** How often the scheduler walks the dead-letter queue to index what SQS moved there by itself. */
  deadLetterSweepSeconds: number;
  /** When the scheduler repairs what a crash between two steps of a write can leave (cron). */
  reconcileCron: string;
  /** null means data stored under the default policy never expires. */
  defaultTtlSeconds: number | null;
  maxMessageBytes: number;
  producerKeys: ProducerKey[];
  adminKeys: ApiKey[];
  /** HMAC secrets of webhook keys, newest first: writes use the first, reads find data under any of them. */
  webhookKeySecrets: string[];
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
  // The admin role redrives dead letters to the ingest queue; the scheduler indexes the dead-letter queue.
  const needsSqs = has('gateway', 'worker', 'admin', 'scheduler');
  const needsDlq = has('worker', 'admin', 'scheduler');

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
      queueUrl: needsSqs ? read.requiredFifoQueueUrl('SQS_QUEUE_URL', 'gateway, worker, admin or scheduler') : '',
      dlqUrl: needsDlq ? read.requiredFifoQueueUrl('SQS_DLQ_URL', 'worker, admin or scheduler') : '',
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
    statusTtlSeconds: read.int('STATUS_TTL_SECONDS', 604800, 1, MAX_TTL_SECONDS),
    deadLetterSweepSeconds: read.int('DEAD_LETTER_SWEEP_SECONDS', 30, 1, 86400),
    reconcileCron: read.cron('RECONCILE_CRON', '30 * * * *'),
    defaultTtlSeconds: nullWhenZero(read.int('DEFAULT_TTL_SECONDS', 604800, 0, MAX_TTL_SECONDS)),
    maxMessageBytes: read.int('MAX_MESSAGE_BYTES', 262144, 1024, 1048576),
    producerKeys: has('gateway') ? read.producerKeys('PRODUCER_API_KEYS') : [],
    adminKeys: has('admin') ? read.adminKeys('ADMIN_API_KEYS') : [],
    webhookKeySecrets: has('worker', 'query', 'admin') ? read.webhookKeySecrets('worker, query or admin') : [],
    reads: {
      waitMaxSeconds: read.int('READ_WAIT_MAX_SECONDS', 60, 1, 3600),
      cacheMaxBytes: read.int('READ_CACHE_MAX_BYTES', 67_108_864, 0, 68_719_476_736),
      missLimitPerMinute: read.int('READ_MISS_LIMIT_PER_MINUTE', 600, 0, 1_000_000_000),
      trustProxy: read.flag('TRUST_PROXY'),
    },
  };

  const apiKeys = [...config.producerKeys, ...config.adminKeys];
  if (new Set(apiKeys.map(({ key }) => key)).size !== apiKeys.length) {
    problems.push(
      'PRODUCER_API_KEYS, ADMIN_API_KEYS: a key is listed twice; each key must identify one account or admin',
    );
  }
  const duplicateIds = duplicates(apiKeys.map(({ id }) => id));
  if (duplicateIds.length > 0 && new Set(apiKeys.map(({ key }) => key)).size === apiKeys.length) {
    problems.push(`PRODUCER_API_KEYS, ADMIN_API_KEYS: key id ${duplicateIds.join(', ')} is given to more than one key`);
  }
  if (clusterNodes !== null && config.webhookKeySecrets.length > 1) {
    // The records of one webhook key under two secrets land in different hash slots, so no script can guard and
    // move them in one atomic step (docs/design.md, "Rotating the webhook-key secret").
    problems.push('WEBHOOK_KEY_SECRETS: more than one secret is not supported with REDIS_CLUSTER_NODES');
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function nullWhenZero(value: number): number | null {
  return value === 0 ? null : value;
}

function duplicates(values: string[]): string[] {
  return [...new Set(values.filter((value, index) => values.indexOf(value) !== index))];
}

const MIN_API_KEY_LENGTH = 16;
const MIN_SECRET_LENGTH = 16;
const API_KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,63}$/;

/**
 * The id of a key configured without one: a fingerprint that names the key in logs and the audit without revealing
 * it (the first 48 bits of its SHA-256; nothing can be learned about the key from it).
 */
export function apiKeyFingerprint(key: string): string {
  return `key-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/**
 * One entry of an API key list: `id=key`, or a bare key whose id is its fingerprint. The text before the first `=`
 * is the id when it is 1–63 of A-Z a-z 0-9 . _ - and the rest is a whole key, so a key that itself contains `=` after
 * such a prefix must be given an explicit id (`id=key=with=equals`).
 */
function identifiedKey(entry: string): ApiKey {
  const separator = entry.indexOf('=');
  const id = entry.slice(0, separator);
  const key = entry.slice(separator + 1);
  if (separator > 0 && API_KEY_ID_PATTERN.test(id) && key.length >= MIN_API_KEY_LENGTH) return { id, key };
  return { id: apiKeyFingerprint(entry), key: entry };
}

function isValidKey(key: string): boolean {
  return key.length >= MIN_API_KEY_LENGTH && !/\s/.test(key);
}

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

  /**
   * WEBHOOK_KEY_SECRETS (comma list, newest first) or WEBHOOK_KEY_SECRET (a list of one): exactly one of the two.
   * A secret may not contain a comma, since it could not be listed in WEBHOOK_KEY_SECRETS.
   */
  webhookKeySecrets(roles: string): string[] {
    const list = this.raw('WEBHOOK_KEY_SECRETS');
    const single = this.raw('WEBHOOK_KEY_SECRET');
    if (list !== undefined && single !== undefined) {
      return this.fail('WEBHOOK_KEY_SECRETS', 'set either it or WEBHOOK_KEY_SECRET, not both', []);
    }
    if (list === undefined && single === undefined) {
      return this.fail(
        'WEBHOOK_KEY_SECRET',
        `(or WEBHOOK_KEY_SECRETS) is required when APP_ROLES includes ${roles}`,
        [],
      );
    }
    const name = list === undefined ? 'WEBHOOK_KEY_SECRET' : 'WEBHOOK_KEY_SECRETS';
    const secrets = list === undefined ? [single as string] : list.split(',').map((secret) => secret.trim());
    if (secrets.some((secret) => secret.length < MIN_SECRET_LENGTH)) {
      const each = list === undefined ? '' : 'every secret ';
      return this.fail(name, `${each}must be at least ${MIN_SECRET_LENGTH} characters long`, []);
    }
    if (new Set(secrets).size !== secrets.length) return this.fail(name, 'a secret is listed twice', []);
    return secrets;
  }

  adminKeys(name: string): ApiKey[] {
    const value = this.raw(name);
    if (value === undefined) return this.fail(name, 'is required when APP_ROLES includes admin', []);
    const keys = value.split(',').map((entry) => identifiedKey(entry.trim()));
    if (!keys.every(({ key }) => isValidKey(key))) {
      return this.fail(
        name,
        `must be a comma list of key or id=key (keys of at least ${MIN_API_KEY_LENGTH} characters without whitespace)`,
        [],
      );
    }
    return keys;
  }

  producerKeys(name: string): ProducerKey[] {
    const value = this.raw(name);
    if (value === undefined) return this.fail(name, 'is required when APP_ROLES includes gateway', []);
    const bindings: ProducerKey[] = [];
    for (const entry of value.split(',').map((item) => item.trim())) {
      const separator = entry.lastIndexOf(':');
      const { id, key } = identifiedKey(entry.slice(0, Math.max(separator, 0)));
      const accountId = entry.slice(separator + 1);
      if (separator < 0 || !isValidKey(key) || !ENTITY_ID_PATTERN.test(accountId)) {
        return this.fail(
          name,
          `must be a comma list of key:accountId or id=key:accountId (keys of at least ${MIN_API_KEY_LENGTH} ` +
            'characters, ids and account ids of A-Z a-z 0-9 . _ -)',
          [],
        );
      }
      bindings.push({ id, key, accountId });
    }
    return bindings;
  }
}
