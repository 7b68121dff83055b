import { createHmac } from 'node:crypto';

/**
 * Every Redis key the service writes, in one place (the README's "Key layout" describes the same).
 *
 * - `<p>k:<digest>`       record of one webhook key (hash). The key itself is never stored, only its
 *                         HMAC-SHA256 digest, so the record key spreads over Redis Cluster slots like a random key.
 * - `<p>d:{<datum>}`      body shared by several keys of one message (string: the JSON a read returns)
 * - `<p>r:{<datum>}`      digests of the keys referencing that body (hash); `{<datum>}` is a hash tag so the body
 *                         and its references share a slot and one script can update both
 * - `<p>ttl:<accountId>`  TTL policies of one account (hash: `*` the account policy, `f:<flowId>` flow policies)
 */
export class KeyLayout {
  constructor(readonly prefix: string) {}

  record(digest: string): string {
    return `${this.prefix}k:${digest}`;
  }

  datum(datumId: string): string {
    return `${this.prefix}d:{${datumId}}`;
  }

  datumRefs(datumId: string): string {
    return `${this.prefix}r:{${datumId}}`;
  }

  ttlPolicies(accountId: string): string {
    return `${this.prefix}ttl:${accountId}`;
  }

  ttlPolicyPattern(): string {
    return `${this.prefix}ttl:*`;
  }
}

/** Webhook keys are credentials: Redis and MongoDB only ever see their HMAC-SHA256 digest (base64url, 43 chars). */
export class WebhookKeyDigester {
  constructor(private readonly secret: string) {}

  digest(webhookKey: string): string {
    return createHmac('sha256', this.secret).update(webhookKey).digest('base64url');
  }
}
