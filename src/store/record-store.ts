import { InjectRedis } from '@nestjs-modules/ioredis';
import { Inject, Injectable } from '@nestjs/common';
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { JournalKey, JournalStore } from './journal-store';
import { KeyLayout, WebhookKeyDigester } from './key-layout';
import { etagOf, RecordBody, renderRecordBody } from './record-body';
import { applyRecordKeys, defineStoreScripts, RedisClient, scanKeys, scanTargets } from './redis-client';
import { redisUnavailable } from './redis-errors';

/**
 * One write as the store applies it: the fields of a validated record message (message/'s RecordMessage has this
 * shape), declared here so that the store does not depend on the message contract.
 */
export interface RecordWrite {
  op: 'set' | 'delete';
  accountId: string;
  flowId: string;
  webhookKeys: string[];
  /** The JSON text of the data to store; present for "set", absent for "delete". */
  dataJson?: string;
  version?: number;
}

/** What applying one message did, key by key. */
export interface WriteOutcome {
  applied: number;
  stale: number;
  /** Digests of keys left alone because another account owns them (KEY_OWNED_BY_OTHER_ACCOUNT). */
  foreign: string[];
  /** Older journal entries the journal's cap dropped before the archive copied them (0 normally). */
  journalTrimmed: number;
}

export interface WriteContext {
  /** Identifies this write's body; the SQS message id, so that a redelivered message replays the same write. */
  datumId: string;
  ttlSeconds: number | null;
  now: number;
  /** When the message was first sent to the ingest queue (Unix ms); absent when SQS did not say. */
  sentAt?: number;
  /**
   * A message redriven from the dead-letter queue: it never overwrites data stored by a message sent after it
   * (versioned or not), judged by `sentAt` against the time stored with each key's data.
   */
  redriven?: boolean;
  /**
   * Called once the write has applied at least one key, in the same tick as its journal entry is sent (after the
   * keys' writes have succeeded): commands the caller issues here share that round trip (the worker's message
   * status). Not called when no key was applied. The write may still fail after it (the journal entry refused).
   */
  alongsideJournal?: (keys: { applied: number; stale: number; foreign: number }) => void;
}

/** Where a walk over every master's record keys stands (RecordStore.scanRecordKeys): saved in the re-key job. */
export interface RecordScanPosition {
  /** Index of the master in the client's list (one on a single server). */
  node: number;
  /** SCAN cursor on that master. */
  cursor: string;
}

export interface RecordScanPage {
  recordKeys: string[];
  /** Where to resume once this page is done. */
  next: RecordScanPosition;
}

/** What re-keying a page of records did. */
export interface RekeyCounts {
  moved: number;
  /** Under the newest secret already. */
  alreadyCurrent: number;
  /** Older records of keys that had one under the newest secret too: never read, removed (rekey-record.lua). */
  superseded: number;
  /** Records without a mask, or whose mask no listed secret opens: left under their secret. */
  unmovable: number;
  unmovableDigests: string[];
}

/** How often re-key reads a record again when it changed between the read and the move. */
const REKEY_ATTEMPTS = 5;

/** A datum as Redis holds it now, for the archive's snapshot. */
export interface StoredDatum {
  datumId: string;
  /** The JSON document a read returns. */
  body: string;
  /** Digests of the keys pointing at it. */
  digests: string[];
  /** The mask (`h`) of each key of `digests`, same order; '' where its record has none (or is gone). */
  masks: string[];
  expiresAt: number | null;
}

/** An archived datum to write back under the keys that still held it. */
export interface DatumToRestore {
  datumId: string;
  accountId: string;
  version: number | null;
  body: string;
  digests: string[];
  /** The mask of each key of `digests` (same order), '' where the archive holds none: stored as the record's `h`. */
  masks: string[];
  expiresAt: number | null;
  /**
   * When the archived data was stored: it stands for the send time of the message that stored it (which is no
   * later), so a redriven message sent before that never overwrites the restored data.
   */
  storedAt: number;
}

/**
 * The oldest attachment (attach-datum.lua) the apply script still points a key at. The reconciler removes an
 * attachment no key holds only once it is REFERENCE_GRACE_MS old, far beyond this, so it can never remove one that
 * an attempt still in progress is about to use. Between attach and apply there is only one round trip, so an
 * attempt this slow means Redis hung for minutes; the script then refuses and the message is retried.
 */
const MAX_ATTACHMENT_AGE_MS = 10 * 60_000;
export const REFERENCE_GRACE_MS = 60 * 60_000;

/** How long a message waits for REDIS_WAIT_REPLICAS replicas before it counts as a passing failure. */
const WAIT_REPLICAS_TIMEOUT_MS = 1000;

/**
 * The most keys one call of apply-record-keys.lua applies. Redis serves nothing else while a script runs, about 5 µs
 * per key (Redis 7.0, measured with SLOWLOG): 100 keys hold it for about 0.5 ms, where a message of 1,000 keys (the
 * most the contract allows) in one call would stall every read behind it for 5 ms. A call's fixed cost in Redis is
 * about 12 µs, a few keys' worth, so at 100 keys it is already down to 2–3 % of the call: larger chunks would gain
 * little.
 */
const KEYS_PER_SCRIPT_CALL = 100;

type KeyOp = 'set' | 'delete' | 'restore' | 'erase';

/** What apply-record-keys.lua reports for one key (see the script). */
type KeyReply = [
  outcome: string,
  previous: string,
  previousToken: string,
  previousInline: string,
  previousAt: string,
  generation: string,
];

/**
 * One key's reply of apply-record-keys.lua: 'outcome|previousToken|previousInline|previousAt|generation|previous',
 * `previous` last (a datum id, the only part that could hold a '|').
 */
export function parseKeyReply(reply: string): KeyReply {
  const outcomeEnd = reply.indexOf('|');
  const tokenEnd = reply.indexOf('|', outcomeEnd + 1);
  const inlineEnd = reply.indexOf('|', tokenEnd + 1);
  const atEnd = reply.indexOf('|', inlineEnd + 1);
  const generationEnd = reply.indexOf('|', atEnd + 1);
  const ordered = outcomeEnd >= 0 && tokenEnd > outcomeEnd && inlineEnd > tokenEnd && atEnd > inlineEnd;
  if (!ordered || generationEnd <= atEnd)
    throw new Error(`apply-record-keys.lua replied ${JSON.stringify(reply)} for a key`);
  return [
    reply.slice(0, outcomeEnd),
    reply.slice(generationEnd + 1),
    reply.slice(outcomeEnd + 1, tokenEnd),
    reply.slice(tokenEnd + 1, inlineEnd),
    reply.slice(inlineEnd + 1, atEnd),
    reply.slice(atEnd + 1, generationEnd),
  ];
}

interface KeyWrite {
  op: KeyOp;
  accountId: string;
  version: number | null;
  datumId: string;
  body: RecordBody | null;
  /**
   * Per key, its digest under every secret, newest first (as many as WEBHOOK_KEY_SECRETS lists; one for a restore,
   * which knows only the digest the archive holds). The key is written under the first.
   */
  digests: string[][];
  /** Per key, its mask under the first digest ('' when unknown): the record's `h`, what re-key moves it by. */
  masks: string[];
  /** Unix ms, 0 for none. */
  expireAt: number;
  /** Unix ms the data was sent (see apply-record-keys.lua's `s`), null when unknown. */
  sentAt: number | null;
  redriven: boolean;
}

/** A shared body as attach-datum.lua left it for this attempt. */
interface Attachment {
  token: string;
  /** Redis time of the attachment (ms). */
  attachedAt: string;
  /** The body's ETag and expiry as stored: an earlier attempt's, when the body was there already. */
  etag: string;
  expireAt: number;
}

interface KeysApplied {
  applied: JournalKey[];
  /** Keys that already held this very datum (a replay): applied by an earlier attempt, left as they were. */
  kept: number;
  stale: number;
  /** Restore only: keys a versioned delete left a tombstone under. */
  tombstoned: number;
  foreign: string[];
  /** Datums no key points at any more after this write. */
  ended: string[];
  /** An earlier attempt of this message stored the body (with its own storedAt), and this one kept it. */
  bodyStoredEarlier: boolean;
}

/**
 * The records of webhook keys, in Redis. Writes apply the ownership rule, tombstones and the version guard per key
 * inside Redis (apply-record-keys.lua), one script call for many keys (a message's keys on a single server, those
 * of one hash slot on a cluster); the calls of a message go out concurrently, so round trips do not grow with the
 * number of keys. The body of a single-key message is stored in its record (one round trip to read); the body of
 * a multi-key message is stored once, as a datum its records point at (two round trips to read).
 *
 * A shared body and its keys live in different hash slots, so on a cluster a write takes three steps that other
 * writes can interleave with, and a worker can die between any two: attach (body + one attachment per key, before
 * any key points at it), apply (per key), release (the attachments this write made but did not use, and those of the
 * bodies its keys left). Each attachment carries the token of the attempt that made it and a key records the token
 * it holds, so a release removes only what is no longer held, whatever interleaves. A crash before the release
 * leaves attachments no key holds; ReferenceReconciler removes them (and so frees the body) after
 * REFERENCE_GRACE_MS. A body is freed only when its last attachment goes, so no key ever points at a missing body.
 * On a single server, a message whose records fit one apply call is attached by that call (attach, then apply,
 * in one script: nothing interleaves between them), so it takes two steps, and a batch one round trip fewer.
 */
@Injectable()
export class RecordStore {
  private readonly tombstoneTtlMs: string;
  /** Attachment tokens: random per process, then a counter, so that every attempt anywhere has its own. */
  private readonly tokenPrefix = randomBytes(6).toString('base64url');
  private tokenCounter = 0;
  private readonly waitReplicas: number;
  /**
   * Whether a shared body is attached by the apply call itself (apply-record-keys.lua with ARGV[9] '*') when all of
   * a message's records go to one call: on a single server. On a cluster the body, its references and the records
   * live in different hash slots, so attach-datum.lua runs first. Protected so that the model-based test drives the
   * two-step path on its single server too.
   */
  protected readonly attachesInApplyCall: boolean;

  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
    private readonly digester: WebhookKeyDigester,
    private readonly journal: JournalStore,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    defineStoreScripts(redis);
    this.tombstoneTtlMs = config.tombstoneTtlSeconds === null ? '0' : String(config.tombstoneTtlSeconds * 1000);
    this.waitReplicas = config.redis.waitReplicas;
    this.attachesInApplyCall = !(redis instanceof Cluster);
  }

  /**
   * Applies a message. Rejects with DependencyUnavailableError for every passing Redis failure (unreachable,
   * timeout, OOM, READONLY, ...): the message can be applied again as it is, and a replay changes nothing that the
   * first attempt did.
   */
  async write(message: RecordWrite, context: WriteContext): Promise<WriteOutcome> {
    const expireAt = context.ttlSeconds === null ? 0 : context.now + context.ttlSeconds * 1000;
    const version = message.version ?? null;
    const body =
      message.op === 'set'
        ? renderRecordBody({
            accountId: message.accountId,
            flowId: message.flowId,
            dataJson: message.dataJson as string,
            version,
            storedAt: context.now,
            expiresAt: expireAt === 0 ? null : expireAt,
          })
        : null;
    const digested = message.webhookKeys.map((key) => this.digester.digested(key));
    const outcome = await this.applyToKeys({
      op: message.op,
      accountId: message.accountId,
      version,
      datumId: context.datumId,
      body,
      digests: digested.map(({ digests }) => digests),
      masks: digested.map(({ mask }) => mask),
      expireAt,
      sentAt: context.sentAt ?? null,
      redriven: context.redriven ?? false,
    }).catch(redisUnavailable);
    const journalBody =
      body === null || outcome.applied.length === 0
        ? null
        : await this.storedBody(body, outcome, message.webhookKeys, context.datumId).catch(redisUnavailable);
    let journalTrimmed = 0;
    if (outcome.applied.length > 0) {
      const appended = this.journal.append({
        op: message.op,
        datumId: context.datumId,
        accountId: message.accountId,
        flowId: message.flowId,
        version,
        at: context.now,
        expiresAt: expireAt === 0 ? null : expireAt,
        keys: outcome.applied,
        ended: outcome.ended,
        body: journalBody,
      });
      context.alongsideJournal?.({
        applied: outcome.applied.length,
        stale: outcome.stale,
        foreign: outcome.foreign.length,
      });
      journalTrimmed = await appended.catch(redisUnavailable);
    }
    await this.awaitReplicas();
    return {
      applied: outcome.applied.length,
      stale: outcome.stale,
      foreign: outcome.foreign,
      journalTrimmed,
    };
  }

  /**
   * Whether WEBHOOK_KEY_SECRETS lists more than one secret. A restore is refused then: it knows a key only by the
   * one digest the archive holds, so it could not see the key's record under another secret (another account's,
   * or newer data) and would write beside it.
   */
  get rotating(): boolean {
    return this.digester.secretCount > 1;
  }

  /**
   * Writes an archived datum back under its keys, keeping its expiry, but only where a key is absent or holds
   * an older version of the same account (never over a tombstone); returns how many keys were written, how many
   * were left as they were (newer data, another account's, or this very datum already: restore is idempotent), and
   * how many a versioned delete's tombstone keeps deleted.
   */
  async restore(datum: DatumToRestore): Promise<{ restored: number; kept: number; deleted: number }> {
    const outcome = await this.applyToKeys({
      op: 'restore',
      accountId: datum.accountId,
      version: datum.version,
      datumId: datum.datumId,
      body: { json: datum.body, etag: etagOf(datum.body) },
      digests: datum.digests.map((digest) => [digest]),
      masks: datum.masks,
      expireAt: datum.expiresAt ?? 0,
      sentAt: datum.storedAt,
      redriven: false,
    }).catch(redisUnavailable);
    const restored = outcome.applied.length - outcome.kept;
    return { restored, kept: datum.digests.length - restored - outcome.tombstoned, deleted: outcome.tombstoned };
  }

  private async applyToKeys(write: KeyWrite): Promise<KeysApplied> {
    const body = write.body;
    const records = write.digests.map((digests) => digests.map((digest) => this.keys.record(digest)));
    const groups = this.scriptCalls(records.map((names) => names[0]));
    const shared = body !== null && write.digests.length > 1;
    // Where the body, its references and every record go to one call (a single server, at most
    // KEYS_PER_SCRIPT_CALL keys), that call attaches the body itself: one script call and one round trip fewer.
    const attachInCall = shared && groups.length === 1 && this.attachesInApplyCall;
    const attached = shared && !attachInCall ? await this.attach(write, body) : null;
    const token = attachInCall ? this.nextToken() : (attached?.token ?? '');
    const args = [
      write.op,
      write.accountId,
      write.version === null ? '' : String(write.version),
      write.datumId,
      attached?.etag ?? body?.etag ?? '',
      body !== null && (!shared || attachInCall) ? body.json : '',
      String(attached?.expireAt ?? write.expireAt),
      token,
      attachInCall ? '*' : (attached?.attachedAt ?? ''),
      String(MAX_ATTACHMENT_AGE_MS),
      this.tombstoneTtlMs,
      String(write.digests[0].length),
      write.sentAt === null ? '' : String(write.sentAt),
      write.redriven ? '1' : '',
    ];
    const groupReplies = await Promise.all(
      groups.map((positions) => {
        const callRecords = positions.flatMap((position) => records[position]);
        const callArgs = [...args, ...positions.map((position) => write.masks[position] ?? '')];
        if (attachInCall) {
          callRecords.push(this.keys.datum(write.datumId), this.keys.datumRefs(write.datumId));
          for (const digests of write.digests) callArgs.push(digests[0]);
        }
        return applyRecordKeys(this.redis, callRecords, callArgs);
      }),
    );
    const replies = new Array<KeyReply>(records.length);
    groups.forEach((positions, group) => {
      const flat = groupReplies[group];
      positions.forEach((position, index) => {
        replies[position] = parseKeyReply(flat[index]);
      });
    });
    // The body's ETag as stored: an earlier attempt's when that one stored it (the call's last reply entry when it
    // attached the body, 'etag|expiry').
    let storedEtag = attached?.etag;
    if (attachInCall) {
      const stored = groupReplies[0][records.length];
      storedEtag = stored.slice(0, stored.lastIndexOf('|'));
    }
    const outcome = await this.settle(replies, write.digests, write.masks, write.datumId, shared ? token : null);
    outcome.bodyStoredEarlier = storedEtag === undefined ? outcome.kept > 0 : storedEtag !== body?.etag;
    return outcome;
  }

  private nextToken(): string {
    this.tokenCounter++;
    return `${this.tokenPrefix}${this.tokenCounter.toString(36)}`;
  }

  /** Stores the shared body (or finds it stored) and attaches every key of the write to it under a fresh token. */
  private async attach(write: KeyWrite, body: RecordBody): Promise<Attachment> {
    const token = this.nextToken();
    const [etag, expireAt, attachedAt] = await this.redis.attachDatum(
      this.keys.datum(write.datumId),
      this.keys.datumRefs(write.datumId),
      body.json,
      body.etag,
      String(write.expireAt),
      token,
      ...write.digests.map(([newest]) => newest),
    );
    return { token, attachedAt, etag, expireAt: Number(expireAt) };
  }

  /**
   * Splits a message's records into the calls of apply-record-keys.lua, as lists of positions in `records` (each
   * key's record under the newest secret): on a cluster one call per hash slot (a script may only touch keys of one
   * slot), on a single server one call for all; either way at most KEYS_PER_SCRIPT_CALL keys per call. A key's
   * records under older secrets join its call: only on a single server, where every key shares the call (the
   * configuration refuses several secrets on a cluster).
   */
  private scriptCalls(records: string[]): number[][] {
    const bySlot = new Map<number, number[]>();
    const cluster = this.redis instanceof Cluster;
    records.forEach((record, position) => {
      const slot = cluster ? calculateSlot(record) : 0;
      const positions = bySlot.get(slot);
      if (positions) positions.push(position);
      else bySlot.set(slot, [position]);
    });
    const calls: number[][] = [];
    for (const positions of bySlot.values()) {
      for (let start = 0; start < positions.length; start += KEYS_PER_SCRIPT_CALL) {
        calls.push(positions.slice(start, start + KEYS_PER_SCRIPT_CALL));
      }
    }
    return calls;
  }

  /**
   * Counts the outcomes and removes the attachments that no key holds after this write: this attempt's own, for
   * keys it did not point at its body, and those under which applied keys held a shared body before.
   */
  private async settle(
    replies: KeyReply[],
    digests: string[][],
    masks: string[],
    datumId: string,
    /** The token of this attempt's attachments of a shared body, null when the body is not shared. */
    attachmentToken: string | null,
  ): Promise<KeysApplied> {
    const outcome: KeysApplied = {
      applied: [],
      kept: 0,
      stale: 0,
      tombstoned: 0,
      foreign: [],
      ended: [],
      bodyStoredEarlier: false,
    };
    const releases = new Map<string, string[]>();
    const release = (releasedId: string, attached: string) => {
      const list = releases.get(releasedId);
      if (list) list.push(attached);
      else releases.set(releasedId, [attached]);
    };
    replies.forEach(([result, previous, previousToken, previousInline, previousAt, generation], index) => {
      const digest = digests[index][0];
      // The mask this write has is the newest digest's: the journal carries it only for a key held under that one.
      const mask = masks[index] ? { mask: masks[index] } : {};
      const ownAttachmentUnused = result !== 'applied' && result !== 'held';
      if (ownAttachmentUnused && attachmentToken !== null) release(datumId, `${digest}|${attachmentToken}`);
      // The datum this write ended for the key, named again by a replay whose first attempt applied it (the
      // script's `p`): its journal entry may have failed after the keys were written.
      const ending = (heldUnder: string, previousDigest: string) => {
        outcome.applied.push({
          digest: heldUnder,
          previous,
          ...(previous !== '' && previousDigest !== heldUnder && { previousUnder: previousDigest }),
          ...(heldUnder === digest && mask),
          ...(generation !== '' && { generation }),
        });
        if (previous === '') return;
        if (previousToken !== '') release(previous, `${previousDigest}|${previousToken}`);
        if (previousInline === '1') outcome.ended.push(previous);
      };
      if (result === 'kept' || result === 'held') {
        outcome.kept++;
        // Kept under the record that holds it, an older secret's during a rotation: the journal names that one.
        const [heldAt, endedAt = heldAt] = previousAt.split(':');
        ending(digests[index][Number(heldAt)] ?? digest, digests[index][Number(endedAt)] ?? digest);
      } else if (result === 'stale') outcome.stale++;
      else if (result === 'tombstoned') outcome.tombstoned++;
      else if (result === 'foreign') outcome.foreign.push(digest);
      // The key held `previous` under this digest: an older secret's when this write moved it to the newest.
      if (result === 'applied') ending(digest, digests[index][Number(previousAt)]);
    });
    const released = [...releases];
    const freed = await Promise.all(
      released.map(([releasedId, attached]) =>
        this.redis.releaseDatum(this.keys.datum(releasedId), this.keys.datumRefs(releasedId), ...attached),
      ),
    );
    released.forEach(([releasedId], index) => {
      if (freed[index] === 1 && releasedId !== datumId) outcome.ended.push(releasedId);
    });
    return outcome;
  }

  /**
   * The document the journal must carry for this write: the one Redis holds. A replay of a message whose first
   * attempt stored its body keeps that body (rendered with the first attempt's storedAt), so the journal takes
   * it from Redis in that one case.
   */
  private async storedBody(
    body: RecordBody,
    outcome: KeysApplied,
    webhookKeys: string[],
    datumId: string,
  ): Promise<string> {
    if (!outcome.bodyStoredEarlier) return body.json;
    const stored =
      webhookKeys.length > 1
        ? await this.redis.get(this.keys.datum(datumId))
        : // The record that kept the body: under an older secret's digest too, during a rotation.
          ((await Promise.all(
            this.digester.digests(webhookKeys[0]).map((digest) => this.redis.hget(this.keys.record(digest), 'b')),
          ).then((bodies) => bodies.find((body) => body !== null))) ?? null);
    return stored ?? body.json;
  }

  /** REDIS_WAIT_REPLICAS: the writes of this connection reached that many replicas, or a passing failure. */
  private async awaitReplicas(): Promise<void> {
    if (this.waitReplicas === 0) return;
    const masters = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    if (masters.length === 0) throw new DependencyUnavailableError('Redis', new Error('no master is known to WAIT on'));
    const acknowledged = await Promise.all(
      masters.map((node) => node.wait(this.waitReplicas, WAIT_REPLICAS_TIMEOUT_MS)),
    ).catch(redisUnavailable);
    const fewest = Math.min(...acknowledged);
    if (fewest < this.waitReplicas) {
      throw new DependencyUnavailableError(
        'Redis',
        new Error(
          `NOREPLICAS only ${fewest} of ${this.waitReplicas} replicas (REDIS_WAIT_REPLICAS) acknowledged the writes`,
        ),
      );
    }
  }

  /**
   * Erasure of an account: removes every record of `accountId` (data, tombstones, delete markers, under any secret)
   * and frees the shared bodies only its keys held, as `count` records per SCAN step on every master. Each record
   * goes through apply-record-keys.lua ('erase'), so a key another account took meanwhile is left alone. Nothing is
   * journaled: the archive must not copy what is being erased. Returns how many records were removed.
   */
  async eraseAccount(accountId: string, count = 500): Promise<number> {
    let erased = 0;
    for await (const found of scanKeys(this.redis, `${this.keys.recordPrefix()}*`, count)) {
      const owners = await Promise.all(found.map((key) => this.redis.hget(key, 'a'))).catch(redisUnavailable);
      const digests = found.flatMap((key, index) => {
        const digest = owners[index] === accountId ? this.keys.digestOfRecord(key) : null;
        return digest === null ? [] : [[digest]];
      });
      if (digests.length === 0) continue;
      const outcome = await this.applyToKeys({
        op: 'erase',
        accountId,
        version: null,
        datumId: '',
        body: null,
        digests,
        masks: [],
        expireAt: 0,
        sentAt: null,
        redriven: false,
      }).catch(redisUnavailable);
      erased += outcome.applied.length;
    }
    return erased;
  }

  /**
   * Re-key, Redis side: the record keys of every master, SCAN page by page from `from` (where an earlier walk
   * stopped; `{ node: 0, cursor: '0' }` for the start), each page with the position to resume after it.
   * A record present for the whole walk is seen at least once (SCAN's guarantee); one moved meanwhile may be seen
   * twice, which re-key counts as current.
   */
  async *scanRecordKeys(from: RecordScanPosition, count: number): AsyncGenerator<RecordScanPage> {
    const nodes = scanTargets(this.redis);
    for (let node = from.node; node < nodes.length; node++) {
      let cursor = node === from.node ? from.cursor : '0';
      do {
        const [next, keys] = await nodes[node]
          .scan(cursor, 'MATCH', `${this.keys.recordPrefix()}*`, 'COUNT', count)
          .catch(redisUnavailable);
        cursor = next;
        const after = cursor === '0' ? { node: node + 1, cursor: '0' } : { node, cursor };
        yield { recordKeys: keys, next: after };
      } while (cursor !== '0');
    }
  }

  /**
   * Re-key of records found by scanRecordKeys: each record not under the newest secret moves there unchanged but for
   * its mask (rekey-record.lua), with its shared body's attachment. The key's SHA-256 comes from the record's mask
   * and digest (WebhookKeyDigester.unmask), so no key in clear is needed. A record without a mask, or whose mask no
   * listed secret opens, stays where it is and is counted unmovable (logged by the caller). A record that changed
   * between the read and the move is read again, up to REKEY_ATTEMPTS times.
   */
  async rekeyRecords(recordKeys: string[]): Promise<RekeyCounts> {
    const counts: RekeyCounts = { moved: 0, alreadyCurrent: 0, superseded: 0, unmovable: 0, unmovableDigests: [] };
    await Promise.all(
      recordKeys.map(async (recordKey) => {
        const digest = this.keys.digestOfRecord(recordKey);
        if (digest === null) return;
        const outcome = await this.rekeyRecord(recordKey, digest);
        if (outcome === 'moved') counts.moved++;
        else if (outcome === 'current') counts.alreadyCurrent++;
        else if (outcome === 'superseded') counts.superseded++;
        else if (outcome === 'unmovable') {
          counts.unmovable++;
          counts.unmovableDigests.push(digest);
        }
      }),
    );
    return counts;
  }

  private async rekeyRecord(
    recordKey: string,
    digest: string,
  ): Promise<'moved' | 'current' | 'superseded' | 'gone' | 'unmovable'> {
    for (let attempt = 0; attempt < REKEY_ATTEMPTS; attempt++) {
      // Whether the body is inline, not the body itself: the walk passes every record, and need not fetch every
      // body. Both commands go in the same tick, so in one round trip.
      const [[mask, datumId, token], inlineBytes] = await Promise.all([
        this.redis.hmget(recordKey, 'h', 'd', 't'),
        this.redis.hstrlen(recordKey, 'b'),
      ]).catch(redisUnavailable);
      const inline = inlineBytes > 0;
      // No fields: the record went (a write moved the key, or it was deleted, erased or expired).
      if (mask === null && datumId === null && token === null && !inline) {
        if ((await this.redis.exists(recordKey).catch(redisUnavailable)) === 0) return 'gone';
      }
      if (mask === null) return 'unmovable';
      const unmasked = this.digester.unmask(digest, mask);
      if (unmasked === null) return 'unmovable';
      if (unmasked.secretIndex === 0) return 'current';
      const newest = this.digester.newestOf(unmasked.keyHash);
      const shared = !inline && token !== null && datumId !== null;
      const outcome = await this.redis
        .rekeyRecord(
          this.keys.record(newest.digest),
          recordKey,
          shared ? this.keys.datumRefs(datumId) : recordKey,
          shared ? this.keys.datum(datumId) : recordKey,
          newest.digest,
          digest,
          mask,
          datumId ?? '',
          shared ? token : '',
          newest.mask,
        )
        .catch(redisUnavailable);
      if (outcome === 'moved' || outcome === 'superseded' || outcome === 'gone') return outcome;
      if (outcome === 'unattached') return 'unmovable';
    }
    // Rewritten under our hands REKEY_ATTEMPTS times in a row: a later walk (a rerun of the job) moves it.
    return 'unmovable';
  }

  /**
   * Every datum Redis holds now, in batches: SCAN (on every master of a cluster, `count` keys a step) picks the
   * records that hold their body and the shared bodies, then one pipelined round of reads per `readAtOnce` of those
   * keys fetches body, keys and expiry. Never holds more than `readAtOnce` datums, whatever the size of the keyspace:
   * the caller bounds its memory by the largest body there can be.
   */
  async *scanDatums(count: number, readAtOnce = count): AsyncGenerator<StoredDatum[]> {
    for await (const found of scanKeys(this.redis, this.keys.everything(), count)) {
      for (let start = 0; start < found.length; start += readAtOnce) {
        const read = await Promise.all(found.slice(start, start + readAtOnce).map((key) => this.readDatum(key)));
        const datums = read.filter((datum): datum is StoredDatum => datum !== null);
        if (datums.length > 0) yield datums;
      }
    }
  }

  /** The datum behind a scanned key: a record holding its body inline, or a shared body; null for anything else. */
  private async readDatum(key: string): Promise<StoredDatum | null> {
    const digest = this.keys.digestOfRecord(key);
    if (digest !== null) {
      const [[owner, datumId, body, mask], expireTime] = await Promise.all([
        this.redis.hmget(key, 'a', 'd', 'b', 'h'),
        this.redis.pexpiretime(key),
      ]);
      if (owner === null || datumId === null || body === null || expireTime === -2) return null;
      return {
        datumId,
        body,
        digests: [digest],
        masks: [mask ?? ''],
        expiresAt: expireTime === -1 ? null : expireTime,
      };
    }
    const datumId = this.keys.datumIdOf(key);
    if (datumId === null) return null;
    const [body, fields, expireTime] = await Promise.all([
      this.redis.get(key),
      this.redis.hkeys(this.keys.datumRefs(datumId)),
      this.redis.pexpiretime(key),
    ]);
    const digests = attachedDigests(fields);
    if (body === null || digests.length === 0 || expireTime === -2) return null;
    // The masks live in the keys' records (the same for whatever datum a record holds): one more pipelined read.
    const masks = await Promise.all(digests.map((attached) => this.redis.hget(this.keys.record(attached), 'h')));
    return {
      datumId,
      body,
      digests,
      masks: masks.map((mask) => mask ?? ''),
      expiresAt: expireTime === -1 ? null : expireTime,
    };
  }
}

/**
 * The digests of the keys attached to a shared body, from the fields of its references hash (`#e`, `#x`, then
 * `<digest>|<token>`; a key attached by two attempts at once appears once).
 */
export function attachedDigests(fields: string[]): string[] {
  const digests = new Set<string>();
  for (const field of fields) {
    const separator = field.indexOf('|');
    if (separator > 0) digests.add(field.slice(0, separator));
  }
  return [...digests];
}
