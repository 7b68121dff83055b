import { Inject, Injectable } from '@nestjs/common';
import { AuditChange } from '../audit/audited';
import { ApiException } from '../common/api-exception';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { TtlPolicy, TtlPolicyStore } from '../store/ttl-policy-store';
import { EffectiveTtl, resolveTtl } from './ttl-resolution';

@Injectable()
export class TtlPolicyService {
  constructor(
    private readonly policies: TtlPolicyStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The TTL a write for (accountId, flowId) gets now. */
  async effective(accountId: string, flowId: string): Promise<EffectiveTtl> {
    return resolveTtl(await this.policies.applicable(accountId, flowId), this.config.defaultTtlSeconds);
  }

  /** The TTLs writes for several flows of one account get now, in the order of `flowIds` (one Redis command). */
  async effectiveForFlows(accountId: string, flowIds: string[]): Promise<EffectiveTtl[]> {
    const policies = await this.policies.applicableToFlows(accountId, flowIds);
    return policies.map((applicable) => resolveTtl(applicable, this.config.defaultTtlSeconds));
  }

  /** Stores the policy; `change` receives the policy before and after, for the audit. */
  async put(
    accountId: string,
    flowId: string | null,
    ttlSeconds: number | null,
    change: AuditChange,
  ): Promise<TtlPolicy> {
    const { policy, previous } = await this.policies.put(accountId, flowId, ttlSeconds);
    change.before = previous ?? undefined;
    change.after = policy;
    return policy;
  }

  async get(accountId: string, flowId: string | null): Promise<TtlPolicy> {
    const policy = await this.policies.get(accountId, flowId);
    if (policy === null) throw new ApiException(404, `No TTL policy for ${describe(accountId, flowId)}`);
    return policy;
  }

  /** Deletes the policy; `change` receives the policy deleted, for the audit. */
  async delete(accountId: string, flowId: string | null, change: AuditChange): Promise<void> {
    const removed = await this.policies.delete(accountId, flowId);
    if (removed === null) throw new ApiException(404, `No TTL policy for ${describe(accountId, flowId)}`);
    change.before = removed;
  }

  async list(accountId: string): Promise<{ accountId: string; account: TtlPolicy | null; flows: TtlPolicy[] }> {
    return { accountId, ...(await this.policies.listAccount(accountId)) };
  }
}

function describe(accountId: string, flowId: string | null): string {
  return flowId === null ? `account ${accountId}` : `flow ${flowId} of account ${accountId}`;
}
