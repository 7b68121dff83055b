import { Inject, Injectable } from '@nestjs/common';
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

  put(accountId: string, flowId: string | null, ttlSeconds: number | null): Promise<TtlPolicy> {
    return this.policies.put(accountId, flowId, ttlSeconds);
  }

  async get(accountId: string, flowId: string | null): Promise<TtlPolicy> {
    const policy = await this.policies.get(accountId, flowId);
    if (policy === null) throw new ApiException(404, `No TTL policy for ${describe(accountId, flowId)}`);
    return policy;
  }

  async delete(accountId: string, flowId: string | null): Promise<void> {
    if (!(await this.policies.delete(accountId, flowId))) {
      throw new ApiException(404, `No TTL policy for ${describe(accountId, flowId)}`);
    }
  }

  async list(accountId: string): Promise<{ accountId: string; account: TtlPolicy | null; flows: TtlPolicy[] }> {
    return { accountId, ...(await this.policies.listAccount(accountId)) };
  }
}

function describe(accountId: string, flowId: string | null): string {
  return flowId === null ? `account ${accountId}` : `flow ${flowId} of account ${accountId}`;
}
