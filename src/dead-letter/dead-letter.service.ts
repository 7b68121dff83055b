import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ApiException } from '../common/api-exception';
import { MetricsService } from '../metrics/metrics.service';
import { DeadLetterMessage, DeadLetterQueue } from '../queue/dead-letter-queue';
import {
  DeadLetterEntry,
  DeadLetterFilter,
  DeadLetterIndex,
  DeadLetterPage,
  InvalidCursorError,
} from '../store/dead-letter-index';
import { JobRecord } from '../store/job-store';
import { JobContext, JobHandler, JobRunner } from '../jobs/job-runner';
import { DeadLetterWalks, entryOf } from './dead-letter-walks';

export const REDRIVE_JOB = 'redrive';

/** What a redrive selects: given ids, or every dead letter that matches the filters (all when none is given). */
export interface RedriveSelection {
  messageIds?: string[];
  accountId?: string;
  flowId?: string;
  errorCode?: string;
}

/** Dead letters sent back per walk of the queue: a walk holds their bodies in memory while it sends them. */
const REDRIVE_CHUNK = 200;

/**
 * The admin side of the dead-letter queue: listing and reading come from the index, deleting and redriving walk
 * the queue itself (the durable copy), and the scheduler's sweep keeps the index true to the queue.
 */
@Injectable()
export class DeadLetterService implements JobHandler, OnModuleInit {
  readonly kind = REDRIVE_JOB;
  private readonly logger = new Logger(DeadLetterService.name);

  constructor(
    private readonly index: DeadLetterIndex,
    private readonly queue: DeadLetterQueue,
    private readonly walks: DeadLetterWalks,
    private readonly jobs: JobRunner,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.jobs.register(this);
  }

  async list(filter: DeadLetterFilter, limit: number, cursor: string | null): Promise<DeadLetterPage> {
    try {
      return await this.index.page(filter, limit, cursor);
    } catch (error) {
      if (error instanceof InvalidCursorError) throw new ApiException(400, error.message);
      throw error;
    }
  }

  async get(messageId: string): Promise<DeadLetterEntry> {
    const entry = await this.index.get(messageId);
    if (entry === null) throw new ApiException(404, `No dead letter ${messageId}`);
    return entry;
  }

  /** Deletes the message (every copy of it) from the dead-letter queue, then from the index. */
  async remove(messageId: string): Promise<void> {
    await this.get(messageId);
    const found = await this.walks.walk(
      (message) => (message.origin.messageId === messageId ? 'hold' : 'release'),
      async ({ held, complete }) => {
        if (held.length > 0) await this.queue.delete(held);
        return { deleted: held.length > 0, complete };
      },
    );
    if (!found.deleted && !found.complete) {
      throw new ApiException(503, 'The dead-letter queue is too large to find the message in one walk; try again', {
        headers: { 'Retry-After': '5' },
      });
    }
    // Gone from the queue either way (deleted now, or before, behind the service's back).
    await this.index.remove([messageId]);
    this.logger.log(`dead letter ${messageId} deleted`);
  }

  /**
   * Starts a redrive job. The selection is fixed now, in the order the messages must go back in: by group, then
   * by when each was first sent (and its sequence number), so that each group keeps its original order.
   */
  async startRedrive(selection: RedriveSelection): Promise<JobRecord> {
    const filter: DeadLetterFilter = {
      ...(selection.accountId !== undefined && { accountId: selection.accountId }),
      ...(selection.flowId !== undefined && { flowId: selection.flowId }),
      ...(selection.errorCode !== undefined && { errorCode: selection.errorCode }),
      ...(selection.messageIds !== undefined && { messageIds: new Set(selection.messageIds) }),
    };
    const selected: DeadLetterEntry[] = [];
    for await (const batch of this.index.all(filter)) selected.push(...batch);
    selected.sort(inGroupOrder);
    const messageIds = selected.map((entry) => entry.messageId);
    return this.jobs.start(REDRIVE_JOB, { messageIds }, { total: messageIds.length, redriven: 0, missing: 0 });
  }

  /**
   * A redrive job: sends the selected dead letters back to the ingest queue, a chunk per walk, in the job's order;
   * each is deleted from the dead-letter queue (and the index) only once it is back on the ingest queue. Resumed
   * after a crash, it redrives what is still in the index: a message sent but not yet deleted goes again, and SQS
   * deduplicates it (the same job and message), or the worker finds its data applied already.
   */
  async run(job: JobRecord, context: JobContext): Promise<void> {
    const order = (job.params.messageIds as string[] | undefined) ?? [];
    const progress = { total: order.length, redriven: job.progress.redriven ?? 0, missing: job.progress.missing ?? 0 };
    for (;;) {
      context.signal.throwIfAborted();
      const pending = await this.stillIndexed(order);
      if (pending.length === 0) break;
      const chunk = pending.slice(0, REDRIVE_CHUNK);
      const wanted = new Set(chunk);
      const outcome = await this.walks.walk(
        (message) => (wanted.has(message.origin.messageId) ? 'hold' : 'release'),
        async ({ held, complete }) => {
          const copies = new Map<string, DeadLetterMessage[]>();
          for (const message of held)
            copies.set(message.origin.messageId, [...(copies.get(message.origin.messageId) ?? []), message]);
          let redriven = 0;
          const missing: string[] = [];
          for (const messageId of chunk) {
            const found = copies.get(messageId);
            if (found === undefined) {
              if (complete) missing.push(messageId);
              continue;
            }
            await this.queue.redrive(found[0], job.jobId);
            await this.queue.delete(found);
            await this.index.remove([messageId]);
            redriven++;
          }
          // Not in the queue at all (deleted behind the service's back): nothing to send; the index forgets it.
          await this.index.remove(missing);
          return { redriven, missing: missing.length, complete };
        },
      );
      progress.redriven += outcome.redriven;
      progress.missing += outcome.missing;
      await context.progress({ ...progress });
    }
  }

  /** The messages of `order` still in the index, in that order. */
  private async stillIndexed(order: string[]): Promise<string[]> {
    const pending: string[] = [];
    for (let start = 0; start < order.length; start += 1000) {
      const slice = order.slice(start, start + 1000);
      const indexed = await this.index.has(slice);
      pending.push(...slice.filter((messageId) => indexed.has(messageId)));
    }
    return pending;
  }

  /**
   * Keeps the index true to the queue: indexes what SQS moved there (the walk does), and forgets entries of
   * messages no longer in it (deleted from the AWS console, say) once a complete walk did not meet them. Updates
   * the dead-letter gauges.
   */
  async sweep(): Promise<{ seen: number; forgotten: number }> {
    const startedAt = Date.now();
    const seen = new Set<string>();
    const walked = await this.walks.walk(
      async (message): Promise<'release'> => {
        if (!seen.has(message.origin.messageId)) {
          seen.add(message.origin.messageId);
          // Moved by the worker, but its index entry was not written (Redis refused it): written now.
          await this.index.add([entryOf(message)]);
        }
        return 'release';
      },
      ({ complete }) => Promise.resolve(complete),
    );
    let forgotten = 0;
    if (walked) {
      const gone: string[] = [];
      for await (const batch of this.index.all({})) {
        for (const entry of batch) {
          if (entry.deadLetteredAt < startedAt && !seen.has(entry.messageId)) gone.push(entry.messageId);
        }
      }
      await this.index.remove(gone);
      forgotten = gone.length;
      if (gone.length > 0) this.logger.warn(`forgot ${gone.length} dead letter(s) no longer in the queue`);
    }
    const [depth, oldest] = await Promise.all([this.queue.depth(), this.index.oldest()]);
    this.metrics.deadLetters.set(depth);
    this.metrics.deadLetterOldestAge.set(oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
    return { seen: seen.size, forgotten };
  }
}

/** By group, then first send time, then sequence number (equal times in one group: SQS's own order). */
export function inGroupOrder(a: DeadLetterEntry, b: DeadLetterEntry): number {
  if (a.groupId !== b.groupId) return a.groupId < b.groupId ? -1 : 1;
  if (a.sentAt !== b.sentAt) return a.sentAt - b.sentAt;
  return compareSequence(a.sequenceNumber ?? '', b.sequenceNumber ?? '');
}

/** SQS sequence numbers are decimal strings of up to 128 bits: longer is larger, then digit by digit. */
function compareSequence(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
