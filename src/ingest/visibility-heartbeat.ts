import { Logger } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { IngestQueue } from '../queue/ingest-queue';
import { QueueMessage } from '../queue/sqs-types';

/**
 * How often the visibility of messages in hand is extended: a third of the timeout, so that one late or failed
 * extension still leaves another before the messages would become visible to a second receive.
 */
export function heartbeatIntervalMs(visibilityTimeoutSeconds: number): number {
  return Math.max(100, Math.floor((visibilityTimeoutSeconds * 1000) / 3));
}

/**
 * Keeps the messages of one batch invisible to other receives while the worker still has them in hand (applying
 * them, or holding them while Redis refuses writes): every third of the visibility timeout, their visibility is
 * set to the full timeout again. Without it a slow batch would be received a second time and applied by two
 * workers at once, out of order.
 */
export class VisibilityHeartbeat {
  private readonly logger = new Logger(VisibilityHeartbeat.name);
  private readonly inHand: Set<QueueMessage>;
  /** Messages whose extension SQS refused or did not answer in time: they may be visible to others now. */
  private readonly lost = new Set<QueueMessage>();
  private readonly timer: NodeJS.Timeout;
  private extending: Promise<void> | null = null;

  constructor(
    messages: QueueMessage[],
    private readonly queue: IngestQueue,
    private readonly metrics: MetricsService,
    private readonly visibilityTimeoutSeconds: number,
  ) {
    this.inHand = new Set(messages);
    this.timer = setInterval(() => this.beat(), heartbeatIntervalMs(visibilityTimeoutSeconds));
  }

  /** Stops extending these: they are settled, or handed back to SQS. */
  letGo(messages: QueueMessage[]): void {
    for (const message of messages) this.inHand.delete(message);
  }

  /**
   * Extends these messages now and returns those this worker can no longer be sure it alone holds (refused now or
   * at any earlier beat). Called before messages held for a while are applied again: a message another receive may
   * have taken must not be applied here too.
   */
  async confirm(messages: QueueMessage[]): Promise<Set<QueueMessage>> {
    await this.extending;
    const refused = await this.queue.changeVisibility(messages, this.visibilityTimeoutSeconds, this.answerWithinMs());
    this.markLost(refused);
    return this.lost;
  }

  /** Stops extending anything, once any extension already sent has been answered. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.inHand.clear();
    await this.extending;
  }

  private beat(): void {
    // An extension SQS has not answered yet is still good for most of the timeout; do not pile up calls.
    if (this.extending !== null || this.inHand.size === 0) return;
    this.extending = this.extend()
      .catch((error: unknown) => this.logger.error(`visibility extension failed: ${String(error)}`))
      .finally(() => (this.extending = null));
  }

  /** An extension answered later than a third of the timeout may come after the messages became visible. */
  private answerWithinMs(): number {
    return Math.max(500, Math.floor((this.visibilityTimeoutSeconds * 1000) / 3));
  }

  private markLost(refused: QueueMessage[]): void {
    // A message settled while its extension was on the way is refused harmlessly; only one still in hand matters.
    const lost = refused.filter((message) => this.inHand.has(message));
    if (lost.length === 0) return;
    for (const message of lost) {
      this.inHand.delete(message);
      this.lost.add(message);
    }
    this.metrics.visibilityExtensions.inc({ outcome: 'refused' }, lost.length);
    this.logger.warn(
      `SQS refused or did not confirm in time the visibility of ${lost.length} message(s) in hand ` +
        `(${lost.map((m) => m.MessageId).join(', ')}): they are left to SQS, not applied here`,
    );
  }

  private async extend(): Promise<void> {
    const messages = [...this.inHand];
    const refused = await this.queue.changeVisibility(messages, this.visibilityTimeoutSeconds, this.answerWithinMs());
    this.metrics.visibilityExtensions.inc({ outcome: 'extended' }, messages.length - refused.length);
    this.markLost(refused);
  }
}
