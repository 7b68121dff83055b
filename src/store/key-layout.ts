import calculateSlot from 'cluster-key-slot';
import { assertSameAsNodeCrypto, HmacSha256Key, sha256Into, SHA256_BYTES } from './sha256';

/**
 * Every Redis key the service writes, in one place (docs/design.md, "Key layout", describes the same).
 *
 * - `<p>k:<digest>`       record of one webhook key (hash). The key itself is never stored, only its digest
 *                         HMAC-SHA256(secret, SHA-256(key)), so the record key spreads over Redis Cluster slots like
 *                         a random key, and (field `h`) its mask, from which only the secret recovers SHA-256(key)
 * - `<p>d:{<datum>}`      body shared by several keys of one message (string: the JSON a read returns)
 * - `<p>r:{<datum>}`      its references (hash): `#e` its ETag, `#x` its expiry, and one attachment
 *                         `<digest>|<token>` per key pointing at it; `{<datum>}` is a hash tag so the body and its
 *                         references share a slot and one script can update both
 * - `<p>ttl:<accountId>`  TTL policies of one account (hash: `*` the account policy, `f:<flowId>` flow policies)
 * - `<p>{journal:<i>:<n>}` shard i (0..47) of the writes not yet copied to the archive (stream);
 *                         `...:bytes` the bytes its entries hold, `...:dropped` entries the bound dropped since the
 *                         archive last drained it (one hash tag: the journal scripts update all three at once, also on
 *                         a cluster). `<n>` is chosen so that shard i's slot is near the middle of the i-th 48th of the
 *                         slots: the shards spread evenly over the masters of a cluster, whatever their number of
 *                         slot ranges. `<p>{journal}` (and its `:bytes`, `:dropped`): the one stream of before the
 *                         shards, only drained
 * - `<p>reconcile:lock`   held by the one scheduler that runs the reference reconciler
 * - `<p>archive:lock`     the archive run lock; `<p>archive:run:<id>` one run's record; `<p>archive:runs` their index
 * - `<p>probe:write`      written (and expired a second later) to learn whether Redis accepts writes
 * - `<p>status:<messageId>` a message's status once the worker decided (string: JSON; expires STATUS_TTL_SECONDS)
 * - `<p>{dead-letters}:index` the dead-letter index (sorted set: original message id by time dead-lettered, ms);
 *                         `<p>{dead-letters}:e:<messageId>` one entry (string: JSON) and `...:b:<messageId>` its body;
 *                         one hash tag so an entry and its place in the index change together (MULTI), also on a cluster
 * - `<p>{jobs}:index`     admin jobs by start time (sorted set); `<p>{jobs}:job:<jobId>` one job (string: JSON);
 *                         `<p>{jobs}:plan:<jobId>` its work list (list), `<p>{jobs}:done:<jobId>` what it did (set),
 *                         `<p>{jobs}:active` the jobs still running (hash: id -> kind)
 * - `<p>lease:<name>`     a lease held by one process at a time (dead-letter walks, one running job each)
 * - `<p>audit`            the audit of admin changes (stream, newest last), trimmed by age and count
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

  /** Shard `index` (0 ≤ index < JOURNAL_SHARDS) of the write journal. */
  journalShard(index: number): JournalShardKeys {
    return journalShardKeys(`${this.prefix}{${journalShardTag(index)}}`);
  }

  /** The write journal as one stream, before it was sharded: drained until empty, never appended to. */
  unshardedJournal(): JournalShardKeys {
    return journalShardKeys(`${this.prefix}{journal}`);
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

  messageStatus(messageId: string): string {
    return `${this.prefix}status:${messageId}`;
  }

  deadLetterIndex(): string {
    return `${this.prefix}{dead-letters}:index`;
  }

  deadLetter(messageId: string): string {
    return `${this.prefix}{dead-letters}:e:${messageId}`;
  }

  deadLetterBody(messageId: string): string {
    return `${this.prefix}{dead-letters}:b:${messageId}`;
  }

  jobIndex(): string {
    return `${this.prefix}{jobs}:index`;
  }

  job(jobId: string): string {
    return `${this.prefix}{jobs}:job:${jobId}`;
  }

  runningJobs(): string {
    return `${this.prefix}{jobs}:active`;
  }

  jobPlan(jobId: string): string {
    return `${this.prefix}{jobs}:plan:${jobId}`;
  }

  jobDone(jobId: string): string {
    return `${this.prefix}{jobs}:done:${jobId}`;
  }

  lease(name: string): string {
    return `${this.prefix}lease:${name}`;
  }

  audit(): string {
    return `${this.prefix}audit`;
  }
}

/** What the pad of a key's mask is derived from (HMAC-SHA256 of the secret over it): fixed, part of the format. */
const MASK_PAD_LABEL = 'setgetapi key mask';

/** A webhook key as the store keeps it: its digest under every listed secret, and its mask under the newest. */
export interface DigestedKey {
  /** Newest secret first; a write stores the key under the first. */
  digests: string[];
  /** `h` of the record written under `digests[0]` (see WebhookKeyDigester). */
  mask: string;
}

/** What a mask gives back with the secrets listed now (WebhookKeyDigester.unmask). */
export interface Unmasked {
  /** Which listed secret the digest is under: 0 when it is the newest's already. */
  secretIndex: number;
  /** SHA-256 of the key (never the key: that is not recoverable from anything stored). */
  keyHash: Buffer;
}

/** The three keys of one journal shard; one hash tag, so one script can update them together on a cluster. */
export interface JournalShardKeys {
  stream: string;
  bytes: string;
  dropped: string;
}

/** The journal's shards: divisible by 1, 2, 3, 4, 6, 8, 12, 16 and 24, so that equal slot shares get equal shards. */
export const JOURNAL_SHARDS = 48;

function journalShardKeys(stream: string): JournalShardKeys {
  return { stream, bytes: `${stream}:bytes`, dropped: `${stream}:dropped` };
}

const CLUSTER_SLOTS = 16384;

/**
 * The hash tag `journal:<index>:<n>` of a shard, with the first n whose slot lies within an eighth of a shard's
 * share of the slots from the middle of shard `index`'s share: a boundary between two masters' slot ranges (Redis
 * Cluster splits the slots evenly by default) never falls between a shard's middle and its slot. Fixed for ever:
 * every process finds the same tags, and the archive drains the same shards.
 */
function journalShardTag(index: number): string {
  const share = CLUSTER_SLOTS / JOURNAL_SHARDS;
  const middle = (index + 0.5) * share;
  for (let n = 0; ; n++) {
    const tag = `journal:${index}:${n}`;
    if (Math.abs(calculateSlot(tag) - middle) <= share / 8) return tag;
  }
}

/** Texts up to this many UTF-16 units are encoded in the digester's scratch space (3 UTF-8 bytes per unit at most). */
const SCRATCH_TEXT_UNITS = 1024;

/**
 * Webhook keys are credentials: Redis and MongoDB only ever see their digest, HMAC-SHA256(secret, SHA-256(key))
 * (base64url, 43 chars), and beside it the key's mask `h` = SHA-256(key) XOR HMAC-SHA256(pad(secret), digest),
 * where pad(secret) = HMAC-SHA256(secret, MASK_PAD_LABEL) (base64url, 43 chars). Under rotation
 * (WEBHOOK_KEY_SECRETS) a key has one digest per secret, newest first: writes store it under the first, reads and
 * guards look under every one.
 *
 * Why the mask (docs/integrity.md, "Re-key"): the service never has a stored key in clear, yet the re-key job must
 * compute every stored key's digest under the newest secret. With the secret and the digest, the mask gives back
 * SHA-256(key) — from which the digest under any secret follows — and never the key itself. Without the secret
 * the pad is unknown and the mask is indistinguishable from random bytes.
 *
 * The hashes are computed by ./sha256 (the same bits as node:crypto, without its per-call set-up, which cost more
 * than the hashing itself: a written key makes one SHA-256 and two HMACs), in scratch buffers of this instance
 * rather than in buffers and strings made per step. Every method runs synchronously to its end, so one instance
 * serves the whole process.
 */
export class WebhookKeyDigester {
  /** The secrets, newest first, prepared once as HMAC keys (their padded blocks compressed once). */
  private readonly secrets: readonly HmacSha256Key[];
  /** pad(secret) of every secret, in the order of `secrets`, prepared the same way. */
  private readonly padKeys: readonly HmacSha256Key[];
  /** Scratch: the UTF-8 bytes of a key or digest being hashed. */
  private readonly text = Buffer.alloc(SCRATCH_TEXT_UNITS * 3);
  /** Scratch: SHA-256 of the key being digested. */
  private readonly keyHash = Buffer.alloc(SHA256_BYTES);
  /** Scratch: an HMAC's output (a digest, or a pad). */
  private readonly mac = Buffer.alloc(SHA256_BYTES);

  /**
   * `secrets` newest first. None in a process whose roles never see a webhook key (the configuration requires them
   * for worker, query and admin): digesting there is a bug, and throws.
   */
  constructor(...secrets: string[]) {
    for (const secret of secrets) assertSameAsNodeCrypto(Buffer.from(secret));
    this.secrets = secrets.map((secret) => new HmacSha256Key(Buffer.from(secret)));
    this.padKeys = this.secrets.map((secret) => {
      const label = Buffer.from(MASK_PAD_LABEL);
      const pad = Buffer.alloc(SHA256_BYTES);
      secret.macInto(label, label.length, pad);
      return new HmacSha256Key(pad);
    });
  }

  /** How many secrets are listed: 1 unless a rotation is under way. */
  get secretCount(): number {
    return this.secrets.length;
  }

  /** The digest under the newest secret: where a write stores the key. */
  digest(webhookKey: string): string {
    return this.digests(webhookKey)[0];
  }

  /** The key's digest under every listed secret, newest first. */
  digests(webhookKey: string): string[] {
    this.hashKey(webhookKey);
    return this.digestsOfHash(this.keyHash);
  }

  /** Digests under every secret and the mask under the newest: what a write stores. */
  digested(webhookKey: string): DigestedKey {
    this.hashKey(webhookKey);
    const digests = this.digestsOfHash(this.keyHash);
    return { digests, mask: this.maskOf(this.keyHash, 0, digests[0]) };
  }

  /**
   * SHA-256 of the key a record holds, from its digest and mask, and which listed secret the digest is under; null
   * when none is (the mask was made under a secret no longer listed, or is damaged).
   */
  unmask(digest: string, mask: string): Unmasked | null {
    const masked = Buffer.from(mask, 'base64url');
    if (masked.length !== SHA256_BYTES) return null;
    for (let index = 0; index < this.secrets.length; index++) {
      this.padInto(index, digest);
      const keyHash = Buffer.alloc(SHA256_BYTES);
      for (let byte = 0; byte < SHA256_BYTES; byte++) keyHash[byte] = masked[byte] ^ this.mac[byte];
      if (this.digestOfHash(index, keyHash) === digest) return { secretIndex: index, keyHash };
    }
    return null;
  }

  /** Digest and mask under the newest secret of a key known by its SHA-256 (what `unmask` gave back). */
  newestOf(keyHash: Buffer): { digest: string; mask: string } {
    const digest = this.digestOfHash(0, keyHash);
    return { digest, mask: this.maskOf(keyHash, 0, digest) };
  }

  /** SHA-256 of the key's UTF-8 bytes, into `keyHash`. */
  private hashKey(webhookKey: string): void {
    if (this.secrets.length === 0) throw new Error('no webhook-key secret is configured in this process');
    if (webhookKey.length <= SCRATCH_TEXT_UNITS) {
      sha256Into(this.text, this.text.write(webhookKey, 0, 'utf8'), this.keyHash);
    } else {
      const bytes = Buffer.from(webhookKey, 'utf8');
      sha256Into(bytes, bytes.length, this.keyHash);
    }
  }

  private digestsOfHash(keyHash: Buffer): string[] {
    const digests = new Array<string>(this.secrets.length);
    for (let index = 0; index < this.secrets.length; index++) digests[index] = this.digestOfHash(index, keyHash);
    return digests;
  }

  private digestOfHash(secretIndex: number, keyHash: Buffer): string {
    this.secrets[secretIndex].macInto(keyHash, SHA256_BYTES, this.mac);
    return this.mac.toString('base64url');
  }

  private maskOf(keyHash: Buffer, secretIndex: number, digest: string): string {
    this.padInto(secretIndex, digest);
    for (let index = 0; index < SHA256_BYTES; index++) this.mac[index] ^= keyHash[index];
    return this.mac.toString('base64url');
  }

  /** HMAC-SHA256(pad(secret), digest) into `mac`: the digest's text (UTF-8) is the HMAC's input. */
  private padInto(secretIndex: number, digest: string): void {
    const padKey = this.padKeys[secretIndex];
    if (digest.length <= SCRATCH_TEXT_UNITS) {
      padKey.macInto(this.text, this.text.write(digest, 0, 'utf8'), this.mac);
    } else {
      const bytes = Buffer.from(digest, 'utf8');
      padKey.macInto(bytes, bytes.length, this.mac);
    }
  }
}
