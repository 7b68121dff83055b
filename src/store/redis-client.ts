import { RedisModuleOptions } from '@nestjs-modules/ioredis';
import calculateSlot from 'cluster-key-slot';
import Redis, { ChainableCommander, Cluster, RedisOptions, Result } from 'ioredis';
import type { ClientContext } from 'ioredis/built/utils/RedisCommander';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';
import { AppConfig } from '../config/app-config';
import { redisUnavailable } from './redis-errors';

export type RedisClient = Redis | Cluster;

/**
 * A command that has not been answered within this time fails, so that a hung Redis (not merely a closed one)
 * turns into a 503 or a retried message instead of a request that never ends.
 */
const COMMAND_TIMEOUT_MS = 2500;

export function redisModuleOptions(config: AppConfig): RedisModuleOptions {
  const options: RedisOptions = {
    connectionName: 'setgetapi',
    // Commands issued in the same tick go out as one pipeline: the script calls of a message (one per hash slot on
    // a cluster) cost one round trip per Redis node, and concurrent reads share round trips.
    enableAutoPipelining: true,
    // While Redis is away a command fails at once (a read answers 503, a message waits for redelivery) instead of
    // queueing in memory until a reconnection that may never come.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // A command Redis may have run whose reply was lost fails instead of being sent again after a reconnect: the
    // caller retries the whole operation with a fresh attempt, which the store's scripts make harmless.
    autoResendUnfulfilledCommands: false,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  };
  if (config.redis.clusterNodes) {
    return {
      type: 'cluster',
      nodes: config.redis.clusterNodes,
      options: {
        enableAutoPipelining: true,
        enableOfflineQueue: false,
        redisOptions: options,
        clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 1000),
      },
    };
  }
  return { type: 'single', url: config.redis.url, options };
}

/**
 * The servers a SCAN must visit to see every key: each master of a cluster (SCAN reads one node's keyspace), or
 * the one server. Until a cluster client is ready its node list holds the start-up nodes it is about to replace,
 * so a scan then fails as Redis being unavailable instead of visiting (and disturbing) those.
 */
export function scanTargets(redis: RedisClient): Redis[] {
  if (!(redis instanceof Cluster)) return [redis];
  if (redis.status !== 'ready')
    throw new DependencyUnavailableError('Redis', new Error(`the cluster is ${redis.status}`));
  return redis.nodes('master');
}

/** A master and a key of `base` in a hash slot that master serves. */
export interface MasterKey {
  node: Redis;
  key: string;
}

/**
 * One key per master, each in a slot that master serves (`<base>{<n>}`), so that a command sent on a master's own
 * connection reaches exactly that master: the write probe must learn that every master accepts writes, not just the
 * one serving a fixed key (after a failover, the master of the probe's slot may be fine while another's slots have
 * none). On a single server, `base` itself. Fails as Redis being unavailable while a slot has no master the client
 * knows, or a master has no connection yet.
 */
export function keysOnEveryMaster(redis: RedisClient, base: string): MasterKey[] {
  if (!(redis instanceof Cluster)) return [{ node: redis, key: base }];
  const masters = new Map(scanTargets(redis).map((node) => [`${node.options.host}:${node.options.port}`, node]));
  const firstSlots = new Map<string, number>();
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    const owner = redis.slots[slot]?.[0];
    if (owner === undefined) {
      throw new DependencyUnavailableError(
        'Redis',
        new Error(`CLUSTERDOWN slot ${slot} has no master the client knows`),
      );
    }
    if (!firstSlots.has(owner)) firstSlots.set(owner, slot);
  }
  return [...firstSlots].map(([owner, slot]) => {
    const node = masters.get(owner);
    if (node === undefined) {
      throw new DependencyUnavailableError('Redis', new Error(`CLUSTERDOWN no connection to master ${owner} yet`));
    }
    return { node, key: keyInSlot(base, slot) };
  });
}

const CLUSTER_SLOTS = 16384;
const keysBySlot = new Map<string, string>();

/** The first key `<base>{<n>}` (n = 0, 1, ...) that hashes to `slot`; remembered, as finding one takes ~16k hashes. */
export function keyInSlot(base: string, slot: number): string {
  const remembered = keysBySlot.get(`${slot}:${base}`);
  if (remembered !== undefined) return remembered;
  for (let n = 0; ; n++) {
    const key = `${base}{${n}}`;
    if (calculateSlot(key) === slot) {
      keysBySlot.set(`${slot}:${base}`, key);
      return key;
    }
  }
}

/** The keys matching `pattern`, one SCAN page at a time, on every node that holds keys. */
export async function* scanKeys(redis: RedisClient, pattern: string, count: number): AsyncGenerator<string[]> {
  for (const node of scanTargets(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext> {
    appendJournal(journal: string, bytes: string, dropped: string, ...args: string[]): Result<number, Context>;
    acknowledgeJournal(journal: string, bytes: string, ...idsAndSizes: string[]): Result<number, Context>;
    acquireLock(lock: string, owner: string, ttlMs: string): Result<number, Context>;
    releaseLock(lock: string, owner: string): Result<number, Context>;
    createJob(job: string, index: string, running: string, ...args: string[]): Result<string[], Context>;
    attachDatum(body: string, refs: string, ...args: string[]): Result<[string, string, string], Context>;
    releaseDatum(body: string, refs: string, ...attachments: string[]): Result<number, Context>;
    forgetDanglingRecord(record: string, datumId: string, token: string): Result<number, Context>;
    rekeyRecord(newest: string, older: string, refs: string, body: string, ...args: string[]): Result<string, Context>;
  }
}

const SCRIPTS = [
  { name: 'attachDatum', file: 'attach-datum.lua', numberOfKeys: 2 },
  { name: 'releaseDatum', file: 'release-datum.lua', numberOfKeys: 2 },
  { name: 'appendJournal', file: 'journal-append.lua', numberOfKeys: 3 },
  { name: 'acknowledgeJournal', file: 'journal-acknowledge.lua', numberOfKeys: 2 },
  { name: 'forgetDanglingRecord', file: 'forget-dangling-record.lua', numberOfKeys: 1 },
  { name: 'rekeyRecord', file: 'rekey-record.lua', numberOfKeys: 4 },
  { name: 'acquireLock', file: 'acquire-lock.lua', numberOfKeys: 1 },
  { name: 'releaseLock', file: 'release-lock.lua', numberOfKeys: 1 },
  { name: 'createJob', file: 'create-job.lua', numberOfKeys: 3 },
] as const;

/**
 * Registers the store's Lua scripts (files beside this one; all but apply-record-keys.lua, see applyRecordKeys) as
 * commands; ioredis loads them with EVALSHA. Every store class calls it; the first call defines them on the shared
 * client.
 */
export function defineStoreScripts(redis: RedisClient): void {
  if (Object.prototype.hasOwnProperty.call(redis, SCRIPTS[0].name)) return;
  for (const script of SCRIPTS) {
    const lua = readFileSync(join(__dirname, 'lua', script.file), 'utf8');
    redis.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua });
  }
}

const APPLY_RECORD_KEYS_LUA = readFileSync(join(__dirname, 'lua', 'apply-record-keys.lua'), 'utf8');
const APPLY_RECORD_KEYS_SHA = createHash('sha1').update(APPLY_RECORD_KEYS_LUA).digest('hex');

/**
 * Runs apply-record-keys.lua on records of one hash slot, with the arguments common to all of them; returns one
 * reply entry per key (per group of ARGV[12] records, one per secret), in their order (RecordStore's parseKeyReply
 * reads one). Sent as a plain EVALSHA instead of a command registered with defineCommand: ioredis files a registered command into the auto-pipeline of the node serving its first argument,
 * which for a script taking any number of keys is that number, so on a cluster calls for different masters would
 * share a pipeline and all fail ("All keys in the pipeline should belong to the same slots allocation group");
 * EVALSHA it routes by its first key. A server that does not hold the script yet (first use, or after a restart)
 * answers NOSCRIPT and receives it with EVAL, which also caches it there.
 */
export async function applyRecordKeys(redis: RedisClient, records: string[], args: string[]): Promise<string[]> {
  try {
    return (await redis.evalsha(APPLY_RECORD_KEYS_SHA, records.length, ...records, ...args)) as string[];
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    return (await redis.eval(APPLY_RECORD_KEYS_LUA, records.length, ...records, ...args)) as string[];
  }
}

/**
 * Runs a MULTI and returns each command's reply. A command Redis refused fails the whole call as it would alone
 * (ioredis reports it inside the results instead), and so does an aborted transaction.
 */
export async function execTransaction(transaction: ChainableCommander): Promise<unknown[]> {
  const results = await transaction.exec().catch(redisUnavailable);
  if (results === null) throw new DependencyUnavailableError('Redis', new Error('the transaction was aborted'));
  const failed = results.find(([error]) => error !== null);
  if (failed) redisUnavailable(failed[0]);
  return results.map(([, reply]) => reply);
}
