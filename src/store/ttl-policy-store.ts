import { InjectRedis } from '@nestjs-modules/ioredis';
import { Injectable } from '@nestjs/common';
import { KeyLayout } from './key-layout';
import { execTransaction, RedisClient, scanKeys } from './redis-client';
import { redisUnavailable } from './redis-errors';

/** A stored TTL policy; `flowId` null is the account's own policy, `ttlSeconds` null means "never expires". */
export interface TtlPolicy {
  accountId: string;
  flowId: string | null;
  ttlSeconds: number | null;
  updatedAt: string;
}

/** The policies that apply to one (account, flow): undefined where none is set. */
export interface ApplicablePolicies {
  flow?: number | null;
  account?: number | null;
}

const ACCOUNT_FIELD = '*';
const flowField = (flowId: string) => `f:${flowId}`;

interface StoredPolicy {
  ttlSeconds: number | null;
  updatedAt: string;
}

/**
 * TTL policies live in Redis, one hash per account, so every instance sees a change with its next write: no
 * in-process cache to invalidate. Resolving the policies of a message costs one HMGET.
 */
@Injectable()
export class TtlPolicyStore {
  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  /** Stores a policy; answers it with the one it replaced, read in the same transaction (for the audit). */
  async put(
    accountId: string,
    flowId: string | null,
    ttlSeconds: number | null,
    now = Date.now(),
  ): Promise<{ policy: TtlPolicy; previous: TtlPolicy | null }> {
    const stored: StoredPolicy = { ttlSeconds, updatedAt: new Date(now).toISOString() };
    const key = this.keys.ttlPolicies(accountId);
    const field = this.field(flowId);
    const [previous] = await execTransaction(
      this.redis.multi().hget(key, field).hset(key, field, JSON.stringify(stored)),
    );
    return { policy: { accountId, flowId, ...stored }, previous: this.policyOf(accountId, flowId, previous) };
  }

  async get(accountId: string, flowId: string | null): Promise<TtlPolicy | null> {
    const raw = await this.redis.hget(this.keys.ttlPolicies(accountId), this.field(flowId)).catch(redisUnavailable);
    return raw === null ? null : { accountId, flowId, ...parse(raw) };
  }

  /** Returns the policy deleted, null when there was none. */
  async delete(accountId: string, flowId: string | null): Promise<TtlPolicy | null> {
    const key = this.keys.ttlPolicies(accountId);
    const field = this.field(flowId);
    const [removed] = await execTransaction(this.redis.multi().hget(key, field).hdel(key, field));
    return this.policyOf(accountId, flowId, removed);
  }

  private policyOf(accountId: string, flowId: string | null, raw: unknown): TtlPolicy | null {
    return typeof raw === 'string' ? { accountId, flowId, ...parse(raw) } : null;
  }

  /** Removes every policy of an account (its erasure); returns how many there were. */
  async deleteAccount(accountId: string): Promise<number> {
    const key = this.keys.ttlPolicies(accountId);
    const [count] = (await execTransaction(this.redis.multi().hlen(key).del(key))) as [number, number];
    return count;
  }

  async listAccount(accountId: string): Promise<{ account: TtlPolicy | null; flows: TtlPolicy[] }> {
    const all = await this.redis.hgetall(this.keys.ttlPolicies(accountId)).catch(redisUnavailable);
    const flows: TtlPolicy[] = [];
    let account: TtlPolicy | null = null;
    for (const [field, raw] of Object.entries(all)) {
      if (field === ACCOUNT_FIELD) account = { accountId, flowId: null, ...parse(raw) };
      else flows.push({ accountId, flowId: field.slice(2), ...parse(raw) });
    }
    flows.sort((a, b) => (a.flowId ?? '').localeCompare(b.flowId ?? ''));
    return { account, flows };
  }

  async applicable(accountId: string, flowId: string): Promise<ApplicablePolicies> {
    return (await this.applicableToFlows(accountId, [flowId]))[0];
  }

  /** The policies of several flows of one account, in the order of `flowIds`: one HMGET. */
  async applicableToFlows(accountId: string, flowIds: string[]): Promise<ApplicablePolicies[]> {
    const [account, ...flows] = await this.redis
      .hmget(this.keys.ttlPolicies(accountId), ACCOUNT_FIELD, ...flowIds.map(flowField))
      .catch(redisUnavailable);
    return flows.map((flow) => ({
      ...(flow !== null && { flow: parse(flow).ttlSeconds }),
      ...(account !== null && { account: parse(account).ttlSeconds }),
    }));
  }

  /** Writes an archived policy back unless one is set already; returns whether it was written. */
  async putIfAbsent(policy: TtlPolicy): Promise<boolean> {
    const stored: StoredPolicy = { ttlSeconds: policy.ttlSeconds, updatedAt: policy.updatedAt };
    return (
      (await this.redis.hsetnx(
        this.keys.ttlPolicies(policy.accountId),
        this.field(policy.flowId),
        JSON.stringify(stored),
      )) === 1
    );
  }

  /** Every policy of every account, in batches (SCAN on every master of a cluster). */
  async *scanAll(count = 200): AsyncGenerator<TtlPolicy[]> {
    for await (const keys of scanKeys(this.redis, this.keys.ttlPolicyPattern(), count)) {
      const accounts = keys.map((key) => this.keys.accountOfTtlPolicies(key));
      const listed = await Promise.all(accounts.map((accountId) => this.listAccount(accountId)));
      const policies = listed.flatMap(({ account, flows }) => (account === null ? flows : [account, ...flows]));
      if (policies.length > 0) yield policies;
    }
  }

  private field(flowId: string | null): string {
    return flowId === null ? ACCOUNT_FIELD : flowField(flowId);
  }
}

function parse(raw: string): StoredPolicy {
  return JSON.parse(raw) as StoredPolicy;
}
