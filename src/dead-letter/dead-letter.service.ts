import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ApiException } from '../common/api-exception';
import { MetricsService } from '../metrics/metrics.service';
import { DeadLetterMessage, DeadLetterQueue } from '../queue/dead-letter-queue';
import {
  DeadLetterEntry,
  DeadLetterFilter,
  DeadLetterIndex,
  DeadLetterPage,
  DeadLetterSummary,
  InvalidCursorError,
} from '../store/dead-letter-index';
import { JobRecord, JobStore } from '../store/job-store';
import { JOB_KIND } from '../jobs/job-kinds';
import { JobContext, JobHandler, JobRunner } from '../jobs/job-runner';
import { DeadLetterWalks, entryOf } from './dead-letter-walks';

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
 * How long incomplete walks (a huge or busy queue, a crashed walk's messages still invisible) may miss a message
 * before a redrive counts it missing: twice a walk's visibility (60 s), so a message still in the queue is met.
 */
const MISSING_AFTER_MS = 150_000;
/** Pause between walks that reached none of the chunk: what they wait for takes up to a minute to come back. */
const IDLE_WALK_PAUSE_MS = 2_000;
/** The sweep forgets only entries indexed at least this long before its walk began. */
const FORGET_MARGIN_MS = 60_000;

/**
 * The admin side of the dead-letter queue: listing and reading come from the index, deleting and redriving walk
 * the queue itself (the durable copy), and the scheduler's sweep keeps the index true to the queue.
 */
@Injectable()
export class DeadLetterService implements JobHandler, OnModuleInit {
  readonly kind = JOB_KIND.redrive;
  private readonly logger = new Logger(DeadLetterService.name);

  constructor(
    private readonly index: DeadLetterIndex,
    private readonly queue: DeadLetterQueue,
    private readonly walks: DeadLetterWalks,
    private readonly jobs: JobStore,
    private readonly runner: JobRunner,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.runner.register(this);
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

  /** Deletes the message (every copy of it) from the dead-letter queue, then from the index; returns its entry. */
  async remove(messageId: string): Promise<DeadLetterEntry> {
    const entry = await this.get(messageId);
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
    return entry;
  }

  /**
   * An account's erasure, on the dead-letter side: every dead letter of the account goes from the queue and the
   * index (the queue holds the account's data too). Walks until one is complete; returns how many were deleted.
   */
  async eraseAccount(accountId: string): Promise<number> {
    let deleted = 0;
    for (;;) {
      const { complete, count } = await this.walks.walk(
        (message) => (entryOf(message).accountId === accountId ? 'hold' : 'release'),
        async ({ held, complete }, lease) => {
          lease.check();
          await this.queue.delete(held);
          await this.index.remove([...new Set(held.map((message) => message.origin.messageId))]);
          return { complete, count: held.length };
        },
      );
      deleted += count;
      if (complete) break;
    }
    const left: string[] = [];
    for await (const batch of this.index.all({ accountId })) left.push(...batch.map((entry) => entry.messageId));
    // Entries whose message a complete walk did not meet are gone from the queue already.
    await this.index.remove(left);
    return deleted;
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
    const selected: DeadLetterSummary[] = [];
    for await (const batch of this.index.all(filter)) selected.push(...batch);
    selected.sort(inGroupOrder);
    const plan = selected.map((entry) => `${entry.groupId} ${entry.messageId}`);
    return this.runner.start(JOB_KIND.redrive, {}, { total: plan.length, redriven: 0, missing: 0 }, plan);
  }

  /**
   * A redrive job: sends the selected dead letters back to the ingest queue, a chunk per walk, in the job's order;
   * each is deleted from the dead-letter queue (and the index) only once it is back on the ingest queue, then
   * marked done, so that a message dead-lettered again after its redrive is never sent again by this job. Resumed
   * after a crash, it redrives what is neither done nor gone: a message sent but not yet deleted goes again, with
   * the same deduplication id (SQS drops it within five minutes, and later the worker finds the data applied).
   * When a walk does not reach a message, the later messages of its group wait for the next walk: sending them
   * first would break the group's order.
   */
  async run(job: JobRecord, context: JobContext): Promise<void> {
    const plan = (await this.jobs.plan(job.jobId)).map((item) => {
      const separator = item.indexOf(' ');
      return { groupId: item.slice(0, separator), messageId: item.slice(separator + 1) };
    });
    const progress = { total: plan.length, redriven: 0, missing: 0 };
    const missedSince = new Map<string, number>();
    for (;;) {
      context.signal.throwIfAborted();
      const pending = await this.pendingOf(job.jobId, plan);
      progress.redriven = plan.length - pending.length - progress.missing;
      await context.progress({ ...progress });
      if (pending.length === 0) return;
      const chunk = pending.slice(0, REDRIVE_CHUNK);
      const wanted = new Set(chunk.map(({ messageId }) => messageId));
      const inHand = new Set<string>();
      await this.walks.walk(
        (message) => {
          if (!wanted.has(message.origin.messageId)) return 'release';
          inHand.add(message.origin.messageId);
          return 'hold';
        },
        async ({ held, complete }, lease) => {
          const copies = new Map<string, DeadLetterMessage[]>();
          for (const message of held) {
            copies.set(message.origin.messageId, [...(copies.get(message.origin.messageId) ?? []), message]);
          }
          const blockedGroups = new Set<string>();
          for (const { groupId, messageId } of chunk) {
            const found = copies.get(messageId);
            if (found === undefined) {
              // Not in the queue (a complete walk would have met it), or met by no walk for MISSING_AFTER_MS:
              // counted missing, and the rest of its group goes on without it.
              const since = missedSince.get(messageId) ?? Date.now();
              missedSince.set(messageId, since);
              if (complete || Date.now() - since > MISSING_AFTER_MS) {
                await this.jobs.markDone(job.jobId, [messageId]);
                if (complete) await this.index.remove([messageId]);
                progress.missing++;
              } else blockedGroups.add(groupId);
              continue;
            }
            if (blockedGroups.has(groupId)) continue;
            lease.check();
            await this.queue.redrive(found[0], job.jobId);
            await this.queue.delete(found);
            await this.jobs.markDone(job.jobId, [messageId]);
            await this.index.remove([messageId]);
          }
        },
        () => inHand.size === wanted.size,
      );
      if (inHand.size === 0) await pause(IDLE_WALK_PAUSE_MS, context.signal);
    }
  }

  /** The plan's messages this job has not done yet, in plan order. */
  private async pendingOf(
    jobId: string,
    plan: Array<{ groupId: string; messageId: string }>,
  ): Promise<Array<{ groupId: string; messageId: string }>> {
    const pending: Array<{ groupId: string; messageId: string }> = [];
    for (let start = 0; start < plan.length; start += 1000) {
      const slice = plan.slice(start, start + 1000);
      const done = await this.jobs.done(
        jobId,
        slice.map(({ messageId }) => messageId),
      );
      pending.push(...slice.filter(({ messageId }) => !done.has(messageId)));
    }
    return pending;
  }

  /**
   * Keeps the index true to the queue: indexes what SQS moved there (the walk does), and forgets entries of
   * messages no longer in it (deleted from the AWS console, say) once a complete walk did not meet them. Updates
   * the dead-letter gauges.
   */
  async sweep(): Promise<{ seen: number; forgotten: number }> {
    // Entries indexed since shortly before the walk may be of messages it could not meet yet; instances' clocks
    // differ by a little, so the margin is generous.
    const indexedBefore = Date.now() - FORGET_MARGIN_MS;
    const seen = new Set<string>();
    const forgotten = await this.walks.walk(
      async (message): Promise<'release'> => {
        if (!seen.has(message.origin.messageId)) {
          seen.add(message.origin.messageId);
          // Moved by the worker, but its index entry was not written (Redis refused it): written now.
          if ((await this.index.has([message.origin.messageId])).size === 0) await this.index.add([entryOf(message)]);
        }
        return 'release';
      },
      async ({ complete }) => {
        if (!complete) return 0;
        const gone: string[] = [];
        for await (const batch of this.index.all({})) {
          for (const entry of batch) {
            if (entry.deadLetteredAt < indexedBefore && !seen.has(entry.messageId)) gone.push(entry.messageId);
          }
        }
        await this.index.remove(gone);
        if (gone.length > 0) this.logger.warn(`forgot ${gone.length} dead letter(s) no longer in the queue`);
        return gone.length;
      },
    );
    const [depth, oldest] = await Promise.all([this.queue.depth(), this.index.oldest()]);
    this.metrics.deadLetters.set(depth);
    this.metrics.deadLetterOldestAge.set(oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
    return { seen: seen.size, forgotten };
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * By group, then first send time, then sequence number (equal times in one group: SQS's own order). A message whose
 * send time is unknown (SQS moved it) counts as sent when it was dead-lettered, the latest it can have been.
 */
export function inGroupOrder(a: DeadLetterSummary, b: DeadLetterSummary): number {
  if (a.groupId !== b.groupId) return a.groupId < b.groupId ? -1 : 1;
  const sentA = a.sentAt ?? a.deadLetteredAt;
  const sentB = b.sentAt ?? b.deadLetteredAt;
  if (sentA !== sentB) return sentA - sentB;
  return compareSequence(a.sequenceNumber ?? '', b.sequenceNumber ?? '');
}

/** SQS sequence numbers are decimal strings of up to 128 bits: longer is larger, then digit by digit. */
function compareSequence(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
