import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { IngestQueue } from '../queue/ingest-queue';
import { QueueMessage } from '../queue/sqs-types';
import { RedisStatus } from '../store/redis-status';
import { DecisionRecorder } from './decision-recorder';
import { DeadLetter } from './ingest-batch';
import { IngestService } from './ingest.service';
import { isUnsettled, planLeaving, planRetries, Unsettled } from './retry-plan';
import { VisibilityHeartbeat } from './visibility-heartbeat';
import { WritePause } from './write-pause';

/**
 * How long a batch received while the Redis connection is still opening (start-up, a reconnect in progress) waits
 * for it before being tried: a second or two of waiting spares a failed attempt and a pause.
 */
const CONNECTION_GRACE_MS = 3_000;
/**
 * SQS keeps a message invisible for at most 12 hours after its receive, whatever the extensions: messages held
 * longer than this are handed back so that they are never visible to others while still held here.
 */
const MAX_HOLD_MS = 11 * 3600_000;
/** Handing back is a courtesy (the messages become visible at the end of their timeout anyway): never wait long. */
const HAND_BACK_TIMEOUT_MS = 2_000;

/**
 * Settles one received batch: applies it (IngestService), carries the verdicts out on SQS, and keeps the
 * messages that failed for a passing reason (and those held back behind them) in hand, their visibility extended,
 * retrying them in group order once Redis accepts writes again. Such a message costs no receive, so nothing goes
 * to the dead-letter queue because Redis was full, read-only or away.
 */
@Injectable()
export class BatchSettler {
  private readonly logger = new Logger(BatchSettler.name);

  constructor(
    private readonly ingest: IngestService,
    private readonly queue: IngestQueue,
    private readonly pause: WritePause,
    private readonly metrics: MetricsService,
    private readonly redis: RedisStatus,
    private readonly decisions: DecisionRecorder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Never rejects: what could not be settled is left to SQS for redelivery. */
  async settle(messages: QueueMessage[]): Promise<void> {
    const heartbeat = new VisibilityHeartbeat(
      messages,
      this.queue,
      this.metrics,
      this.config.sqs.visibilityTimeoutSeconds,
    );
    const receivedAt = Date.now();
    try {
      if (!this.redis.isReady()) await this.redis.waitUntilReady(CONNECTION_GRACE_MS);
      let inHand = messages;
      while (inHand.length > 0) {
        const unsettled = await this.applyOnce(inHand, heartbeat);
        const plan = planRetries(unsettled, await this.queue.maxReceiveCount());
        await this.letGo(plan.exhausted, plan.redeliver, heartbeat);
        if (plan.hold.length === 0) return;
        const writable = await this.pause.untilWritable(plan.hold[0].verdict);
        if (!writable || Date.now() - receivedAt > MAX_HOLD_MS) {
          await this.handBack(plan.hold, heartbeat);
          return;
        }
        const held = plan.hold.map(({ message }) => message);
        inHand = stillOurs(held, await heartbeat.confirm(held));
        heartbeat.letGo(held.filter((message) => !inHand.includes(message)));
      }
    } catch (error) {
      this.logger.error(`batch of ${messages.length} left for redelivery: ${(error as Error).message}`);
    } finally {
      await heartbeat.stop();
    }
  }

  /** Applies the messages in hand and settles what it can; returns the rest. */
  private async applyOnce(messages: QueueMessage[], heartbeat: VisibilityHeartbeat): Promise<Unsettled[]> {
    const settled = await this.ingest.process(messages);
    const deadLetters: DeadLetter[] = settled.flatMap(({ message, verdict }) =>
      verdict.kind === 'dead-letter'
        ? [{ message, code: verdict.code, reason: verdict.reason, ...(verdict.keys && { keys: verdict.keys }) }]
        : [],
    );
    const handled = settled.filter(({ verdict }) => verdict.kind === 'done');
    const handledMessages = handled.map(({ message }) => message);
    heartbeat.letGo([...handledMessages, ...deadLetters.map(({ message }) => message)]);
    const moved = await this.queue.deadLetter(deadLetters);
    // Recorded before the messages leave SQS: a crash in between redelivers them, and they are recorded then.
    await this.decisions.record(
      handled,
      deadLetters.filter(({ message }) => moved.includes(message)),
    );
    await this.queue.acknowledge([...handledMessages, ...moved]);
    return settled.filter(isUnsettled);
  }

  /**
   * Lets go of messages that failed for a reason other than Redis refusing writes: those at their last receive
   * go to the dead-letter queue with RETRIES_EXHAUSTED (else SQS would move them there without a reason), the
   * others become visible again when their visibility timeout ends.
   */
  private async letGo(
    exhausted: DeadLetter[],
    redeliver: QueueMessage[],
    heartbeat: VisibilityHeartbeat,
  ): Promise<void> {
    heartbeat.letGo([...redeliver, ...exhausted.map(({ message }) => message)]);
    if (exhausted.length === 0) return;
    const moved = await this.queue.deadLetter(exhausted);
    for (const _ of moved) this.metrics.countMessage('rejected', 'RETRIES_EXHAUSTED');
    await this.decisions.record(
      [],
      exhausted.filter(({ message }) => moved.includes(message)),
    );
    await this.queue.acknowledge(moved);
  }

  /**
   * Shutdown while Redis still refuses writes: the held messages go back to SQS at once (visibility 0) for another
   * worker, except those at their last receive, which the worker dead-letters itself with the last error.
   */
  private async handBack(held: Unsettled[], heartbeat: VisibilityHeartbeat): Promise<void> {
    const { exhausted, redeliver } = planLeaving(held, await this.queue.maxReceiveCount());
    await heartbeat.stop();
    await this.letGo(exhausted, [], heartbeat);
    await this.queue.changeVisibility(redeliver, 0, HAND_BACK_TIMEOUT_MS);
    this.logger.warn(
      `shutdown: ${redeliver.length} message(s) held for Redis handed back to SQS, ${exhausted.length} dead-lettered`,
    );
  }
}

/**
 * The held messages this worker may still apply: not one whose visibility could not be confirmed (another receive
 * may have it), nor any later message of that one's group (applying it first would break the group's order).
 * SQS hands those out again, in order.
 */
export function stillOurs(held: QueueMessage[], lost: ReadonlySet<QueueMessage>): QueueMessage[] {
  const givenUp = new Set<string>();
  return held.filter((message) => {
    const group = message.Attributes?.MessageGroupId ?? message.MessageId ?? '';
    if (lost.has(message)) givenUp.add(group);
    return !givenUp.has(group);
  });
}
