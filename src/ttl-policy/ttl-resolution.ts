import { ApplicablePolicies } from '../store/ttl-policy-store';

export type TtlSource = 'flow' | 'account' | 'default';

export interface EffectiveTtl {
  /** null: never expires. */
  ttlSeconds: number | null;
  source: TtlSource;
}

/** The contract: the flow's policy wins over the account's, which wins over DEFAULT_TTL_SECONDS. */
export function resolveTtl(policies: ApplicablePolicies, defaultTtlSeconds: number | null): EffectiveTtl {
  if (policies.flow !== undefined) return { ttlSeconds: policies.flow, source: 'flow' };
  if (policies.account !== undefined) return { ttlSeconds: policies.account, source: 'account' };
  return { ttlSeconds: defaultTtlSeconds, source: 'default' };
}
