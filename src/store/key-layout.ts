import { createHmac } from 'node:crypto';

/**
 * Every Redis key the service writes, in one place (docs/design.md, "Key layout", describes the same).
 *
 * - `<p>k:<digest>`       record of one webhook key (hash). The key itself is never stored, only its
 *                         HMAC-SHA256 digest, so the record key spreads over Redis Cluster slots like a random key.
 * - `<p>d:{<datum>}`      body shared by several keys of one message (string: the JSON a read returns)
 * - `<p>r:{<datum>}`      its references (hash): `#e` its ETag, `#x` its expiry, and one attachment
 *                         `<digest>|<token>` per key pointing at it; `{<datum>}` is a hash tag so the body and its
 *                         references share a slot and one script can update both
 * - `<p>ttl:<accountId>`  TTL policies of one account (hash: `*` the account policy, `f:<flowId>` flow policies)
 * - `<p>{journal}`        writes not yet copied to the archive (stream); `<p>{journal}:bytes` the bytes its entries
 *                         hold, `<p>{journal}:dropped` entries the bound dropped since the archive last drained it
 *                         (one hash tag: the journal scripts update all three at once, also on a cluster)
 * - `<p>reconcile:lock`   held by the one scheduler that runs the reference reconciler
 * - `<p>archive:lock`     the archive run lock; `<p>archive:run:<id>` one run's record; `<p>archive:runs` their index
 * - `<p>probe:write`      written (and expired a second later) to learn whether Redis accepts writes
 * - `<p>miss:<minute>:<address>`  failed webhook-key reads from one client address in one minute (Unix minutes),
 *                         expiring with the minute (READ_MISS_LIMIT_PER_MINUTE)
 */
export class KeyLayout {
  constructor(readonly prefix: string) {}

  record(digest: string): string {
    return `${this.prefix}k:${digest}`;
  }

  datum(datumId: string): string {
    return `${this.prefix}d:{${datumId}}`;
  }

  /** What every record key starts with (Redis client-side caching follows changes by prefix). */
  recordPrefix(): string {
    return `${this.prefix}k:`;
  }

  /** What every shared body key starts with. */
  datumPrefix(): string {
    return `${this.prefix}d:`;
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

  /** The account id of a TTL policy hash key. */
  accountOfTtlPolicies(key: string): string {
    return key.slice(`${this.prefix}ttl:`.length);
  }

  /** Matches every key of the service, for scans that pick records and datums out of it. */
  everything(): string {
    return `${this.prefix}*`;
  }

  /** The digest of a record key, or null when `key` is not a record key. */
  digestOfRecord(key: string): string | null {
    const start = `${this.prefix}k:`;
    return key.startsWith(start) ? key.slice(start.length) : null;
  }

  /** The datum id of a references key, or null when `key` is not one. */
  datumIdOfRefs(key: string): string | null {
    const start = `${this.prefix}r:{`;
    return key.startsWith(start) && key.endsWith('}') ? key.slice(start.length, -1) : null;
  }

  /** The datum id of a datum body key, or null when `key` is not one. */
  datumIdOf(key: string): string | null {
    const start = `${this.prefix}d:{`;
    return key.startsWith(start) && key.endsWith('}') ? key.slice(start.length, -1) : null;
  }

  journal(): string {
    return `${this.prefix}{journal}`;
  }

  journalBytes(): string {
    return `${this.prefix}{journal}:bytes`;
  }

  journalDropped(): string {
    return `${this.prefix}{journal}:dropped`;
  }

  reconcileLock(): string {
    return `${this.prefix}reconcile:lock`;
  }

  archiveLock(): string {
    return `${this.prefix}archive:lock`;
  }

  archiveRun(runId: string): string {
    return `${this.prefix}archive:run:${runId}`;
  }

  archiveRuns(): string {
    return `${this.prefix}archive:runs`;
  }

  readMisses(minute: number, address: string): string {
    return `${this.prefix}miss:${minute}:${address}`;
  }

  writeProbe(): string {
    return `${this.prefix}probe:write`;
  }
}

/** Webhook keys are credentials: Redis and MongoDB only ever see their HMAC-SHA256 digest (base64url, 43 chars). */
export class WebhookKeyDigester {
  constructor(private readonly secret: string) {}

  digest(webhookKey: string): string {
    return createHmac('sha256', this.secret).update(webhookKey).digest('base64url');
  }
}
