import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';
import { subjectOfGroup } from '../message/queue-body';
import { DeadLetterMessage, DeadLetterQueue, WalkDecision, WalkResult } from '../queue/dead-letter-queue';
import { DeadLetterEntry, DeadLetterIndex } from '../store/dead-letter-index';
import { LeaseStore } from '../store/lease-store';
import { MessageStatusStore } from '../store/message-status-store';

/** Walks of the dead-letter queue take this lease: two at once would each see only part of the queue. */
const WALK_LEASE = 'dead-letter-walk';
const LEASE_MS = 15_000;
const RENEW_MS = 5_000;
/** How long a caller waits for another instance's walk to end before giving up (503, or a job retried later). */
const LEASE_WAIT_MS = 30_000;
/** A walk stops receiving after this long; what it did not reach, the next one does. */
const WALK_DEADLINE_MS = 20_000;

/**
 * Walks of the dead-letter queue, one at a time across every instance, each of which also settles what SQS moved
 * there by itself: such a message sits in its ingest group, hiding the later ones of that group, so the walk indexes
 * it (MOVED_BY_SQS), records its status and puts it alone in a group of its own before going on.
 */
@Injectable()
export class DeadLetterWalks {
  private readonly logger = new Logger(DeadLetterWalks.name);

  constructor(
    private readonly queue: DeadLetterQueue,
    private readonly index: DeadLetterIndex,
    private readonly statuses: MessageStatusStore,
    private readonly leases: LeaseStore,
  ) {}

  /**
   * Walks the queue under the walk lease; `visit` sees every message that is alone in its group (copies a crash left
   * behind one by one: visitors treat a message id seen twice as one message). `during` runs with the lease still
   * held and the held messages still in hand; it calls `lease.check()` before each step that must not happen once
   * another walk may have started. Afterwards every held message is let go (those `during` deleted are gone).
   */
  async walk<T>(
    visit: (message: DeadLetterMessage) => WalkDecision | Promise<WalkDecision>,
    during: (result: WalkResult, lease: { check(): void }) => Promise<T>,
    enough?: () => boolean,
  ): Promise<T> {
    // An owner per walk: two walks of one process (a sweep and a DELETE) exclude each other too.
    const owner = randomUUID();
    await this.takeLease(owner);
    let renewedAt = Date.now();
    let lost = false;
    const renewal = setInterval(() => {
      this.leases.hold(WALK_LEASE, owner, LEASE_MS).then(
        (held) => {
          if (held) renewedAt = Date.now();
          else lost = true;
        },
        (error: Error) => this.logger.warn(`could not renew the dead-letter walk lease: ${error.message}`),
      );
    }, RENEW_MS);
    // Unrenewed for most of its lifetime, the lease may have run out: another walk may be under way.
    const lease = {
      check: () => {
        if (lost || Date.now() - renewedAt > LEASE_MS - RENEW_MS) {
          throw new DependencyUnavailableError('Redis', new Error('the dead-letter walk lease was lost'));
        }
      },
    };
    try {
      const result = await this.queue.walk(
        async (message) => {
          lease.check();
          if (!message.alone) return this.isolate(message);
          return visit(message);
        },
        Date.now() + WALK_DEADLINE_MS,
        enough,
      );
      try {
        return await during(result, lease);
      } finally {
        // Receipts of messages `during` deleted fail quietly; the rest become visible again at once.
        await this.queue.release(result.held).catch(() => undefined);
      }
    } finally {
      clearInterval(renewal);
      await this.leases.release(WALK_LEASE, owner).catch(() => undefined);
    }
  }

  private async takeLease(owner: string): Promise<void> {
    const giveUpAt = Date.now() + LEASE_WAIT_MS;
    while (!(await this.leases.hold(WALK_LEASE, owner, LEASE_MS))) {
      if (Date.now() > giveUpAt) {
        throw new DependencyUnavailableError(
          'SQS',
          new Error('another instance is walking the dead-letter queue; try again shortly'),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Indexes a message SQS moved (status too), then moves it alone into a group of its own. */
  private async isolate(message: DeadLetterMessage): Promise<'gone'> {
    const entry = entryOf(message);
    await this.index.add([entry]);
    if (entry.accountId !== undefined && entry.flowId !== undefined) {
      await this.statuses.save([
        {
          messageId: entry.messageId,
          accountId: entry.accountId,
          flowId: entry.flowId,
          status: 'dead-lettered',
          decidedAt: new Date(entry.deadLetteredAt).toISOString(),
          keys: { applied: 0, stale: 0, foreign: 0 },
          errorCode: entry.errorCode,
          errorMessage: entry.errorMessage,
        },
      ]);
    }
    await this.queue.isolate(message);
    this.logger.warn(`dead letter ${entry.messageId} (${entry.errorCode}) indexed and isolated`);
    return 'gone';
  }
}

/** The index entry of a dead letter as the queue holds it. */
export function entryOf(message: DeadLetterMessage): DeadLetterEntry {
  const subject = subjectOfGroup(message.origin.groupId);
  return {
    messageId: message.origin.messageId,
    ...(subject ?? {}),
    groupId: message.origin.groupId,
    errorCode: message.errorCode,
    errorMessage: message.errorMessage,
    deadLetteredAt: message.deadLetteredAt,
    receiveCount: message.receiveCount,
    sentAt: message.origin.sentAt,
    ...(message.origin.sequenceNumber !== null && { sequenceNumber: message.origin.sequenceNumber }),
    body: message.body,
  };
}
