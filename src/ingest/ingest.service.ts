import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { RecordMessage } from '../message/record-message.validation';
import { MetricsService } from '../metrics/metrics.service';
import { originOf } from '../queue/message-origin';
import { QueueMessage } from '../queue/sqs-types';
import { RecordStore } from '../store/record-store';
import { TtlPolicyService } from '../ttl-policy/ttl-policy.service';
import { EffectiveTtl } from '../ttl-policy/ttl-resolution';
import { DecisionRecorder } from './decision-recorder';
import { groupInReceiveOrder, settleInOrder, Settled, Verdict } from './ingest-batch';
import { decodeIngestMessage } from './ingest-decoder';
import { failureOf } from './retry-plan';

/** Enough digests to find the keys, without a 1000-key message flooding the log. */
const LOGGED_DIGESTS = 20;

/**
 * Applies a batch of ingest messages to the store: groups concurrently, the messages of a group in order. It
 * decides each message's verdict; IngestConsumer carries the verdicts out on SQS.
 */
@Injectable()
export class IngestService {
  private readonly logger = new Logger(IngestService.name);

  constructor(
    private readonly records: RecordStore,
    private readonly ttlPolicies: TtlPolicyService,
    private readonly metrics: MetricsService,
    private readonly decisions: DecisionRecorder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async process(messages: QueueMessage[]): Promise<Settled[]> {
    const groups = groupInReceiveOrder(messages);
    const ttls = new BatchTtls(this.ttlPolicies);
    const settled = await Promise.all(
      groups.map((group) => settleInOrder(group, (message) => this.apply(message, ttls))),
    );
    return settled.flat();
  }

  private async apply(sqsMessage: QueueMessage, ttls: BatchTtls): Promise<Verdict> {
    const decoded = decodeIngestMessage(sqsMessage, this.config.maxMessageBytes);
    if (!decoded.ok) {
      this.metrics.countMessage('rejected', decoded.code);
      return { kind: 'dead-letter', code: decoded.code, reason: decoded.reason };
    }
    const message = decoded.message;
    const origin = originOf(sqsMessage);
    const stopTimer = this.metrics.ingestDuration.startTimer();
    try {
      const { ttlSeconds } = await ttls.effective(message.accountId, message.flowId);
      const now = Date.now();
      const status: { recorded?: Promise<boolean> } = {};
      // A redriven message writes under its first id: keys it reached before it was dead-lettered are replays.
      const outcome = await this.records.write(message, {
        datumId: origin.messageId,
        ttlSeconds,
        now,
        ...(origin.sentAt !== null && { sentAt: origin.sentAt }),
        redriven: origin.redriven,
        // A message that wrote a key is applied: its status rides in the round trip of its journal entry, not
        // in one more round trip per batch. Should the journal entry (or the replicas' wait) fail, the message is
        // retried and replays (its keys hold its data already), and its status is written again when decided.
        alongsideJournal: (keys) => {
          status.recorded = this.decisions.recordApplied(sqsMessage, keys);
        },
      });
      stopTimer();
      this.observeLag(sqsMessage, now);
      this.metrics.countKeys('applied', outcome.applied);
      this.metrics.countKeys('stale', outcome.stale);
      this.metrics.countKeys('foreign', outcome.foreign.length);
      if (outcome.journalTrimmed > 0) {
        this.metrics.journalTrimmed.inc(outcome.journalTrimmed);
        this.logger.warn(
          `the write journal reached ARCHIVE_JOURNAL_MAX_BYTES and dropped ${outcome.journalTrimmed} entries the ` +
            'archive had not copied yet: data that expires or changes before the next run will not be archived',
        );
      }
      if (outcome.foreign.length > 0) this.logForeignKeys(message, outcome.foreign, sqsMessage.MessageId);
      const keys = { applied: outcome.applied, stale: outcome.stale, foreign: outcome.foreign.length };
      if (outcome.applied > 0) {
        this.metrics.countMessage(message.op === 'set' ? 'stored' : 'deleted');
        return { kind: 'done', keys, statusRecorded: (await status.recorded) ?? false };
      }
      if (outcome.stale > 0) {
        this.metrics.countMessage('stale');
        return { kind: 'done', keys };
      }
      this.metrics.countMessage('rejected', 'KEY_OWNED_BY_OTHER_ACCOUNT');
      return {
        kind: 'dead-letter',
        code: 'KEY_OWNED_BY_OTHER_ACCOUNT',
        reason: `every webhook key of this message is owned by another account than ${message.accountId}`,
        keys,
      };
    } catch (error) {
      // Redis refusing writes for now (passing: the worker holds the message and retries it), or anything else
      // (SQS redelivers it, and the worker dead-letters it at its last receive): BatchSettler decides.
      const failure = failureOf(error);
      this.metrics.countMessage('retried');
      this.logger.warn(
        `message ${sqsMessage.MessageId} (group ${message.accountId}:${message.flowId}, receive ` +
          `${sqsMessage.Attributes?.ApproximateReceiveCount ?? '?'}) not applied ` +
          `(${failure.passingReason ?? 'not a passing failure'}): ${failure.error}`,
      );
      return { kind: 'retry', ...failure };
    }
  }

  private observeLag(message: QueueMessage, now: number): void {
    const sent = Number(message.Attributes?.SentTimestamp);
    if (Number.isFinite(sent) && sent > 0) this.metrics.ingestLag.observe(Math.max(0, now - sent) / 1000);
  }

  private logForeignKeys(message: RecordMessage, digests: string[], messageId: string | undefined): void {
    this.logger.warn(
      `KEY_OWNED_BY_OTHER_ACCOUNT: message ${messageId} of account ${message.accountId}, flow ${message.flowId} ` +
        `left ${digests.length} key(s) owned by another account untouched; key digests: ` +
        `${digests.slice(0, LOGGED_DIGESTS).join(', ')}${digests.length > LOGGED_DIGESTS ? ', …' : ''}`,
    );
  }
}

interface TtlWaiter {
  resolve: (ttl: EffectiveTtl) => void;
  reject: (error: unknown) => void;
}

/**
 * The effective TTL of each account and flow, looked up once per batch, and the lookups of one account made in the
 * same tick (the first message of every group of a batch) sent as one HMGET: a busy account's messages would
 * otherwise read its policy hash once each, making that hash's master the busiest of a cluster (bench/RESULTS.md,
 * cluster). A policy changed while a batch is applied takes effect from the next batch, as it would a moment later.
 */
class BatchTtls {
  private readonly lookups = new Map<string, Promise<EffectiveTtl>>();
  /** Per account, the flows asked for in this tick and who waits for each. */
  private readonly asked = new Map<string, Map<string, TtlWaiter>>();

  constructor(private readonly policies: TtlPolicyService) {}

  effective(accountId: string, flowId: string): Promise<EffectiveTtl> {
    const key = JSON.stringify([accountId, flowId]);
    let lookup = this.lookups.get(key);
    if (lookup === undefined) {
      lookup = new Promise((resolve, reject) => {
        let flows = this.asked.get(accountId);
        if (flows === undefined) {
          flows = new Map<string, TtlWaiter>();
          this.asked.set(accountId, flows);
          queueMicrotask(() => this.lookUp(accountId));
        }
        flows.set(flowId, { resolve, reject });
      });
      this.lookups.set(key, lookup);
    }
    return lookup;
  }

  private lookUp(accountId: string): void {
    const flows = this.asked.get(accountId) ?? new Map<string, TtlWaiter>();
    this.asked.delete(accountId);
    const flowIds = [...flows.keys()];
    this.policies.effectiveForFlows(accountId, flowIds).then(
      (ttls) => flowIds.forEach((flowId, index) => flows.get(flowId)?.resolve(ttls[index])),
      (error: unknown) => flows.forEach(({ reject }) => reject(error)),
    );
  }
}
