import { Message } from '@aws-sdk/client-sqs';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { SqsConsumerEventHandler, SqsMessageHandler, SqsService } from '@ssut/nestjs-sqs';
import { RedisStatus } from '../store/redis-status';
import { IngestQueue } from './ingest-queue';
import { IngestService } from './ingest.service';

export const INGEST_CONSUMER = 'ingest';

/** Longest pause between receives while SQS keeps failing. */
const MAX_RECEIVE_BACKOFF_MS = 10_000;
/** How long a received batch waits for a Redis connection that is not ready, well within any visibility timeout. */
const REDIS_GRACE_MS = 3_000;
/**
 * Batches applied at once. The next receive overlaps the batches in hand, so SQS round trips are not paid in series
 * with the work (npm run bench:ingest with a 10 ms SQS round trip: 310 msg/s with one batch at a time, 690 with
 * three). Order holds: SQS FIFO hands out no message of a group while an earlier one of that group is in flight,
 * so overlapping batches are ordered exactly as several workers on one queue are.
 */
const MAX_BATCHES_IN_FLIGHT = 3;
/** Shutdown waits this long for the batches in hand; SIGTERM must end the process within 10 s. */
const DRAIN_DEADLINE_MS = 7_000;

/**
 * Receives batches from the ingest queue (through @ssut/nestjs-sqs) and carries out the verdicts of
 * IngestService on SQS. It deletes messages itself rather than letting sqs-consumer do it: moved and handled
 * messages go in one DeleteMessageBatch, and a delete is not aborted by shutdown.
 *
 * The library runs handlers outside Nest's filters and does not wait for them on shutdown, so this class keeps
 * track of the batches in hand, never lets an error escape, and drains before the Redis connection closes.
 */
@Injectable()
export class IngestConsumer implements BeforeApplicationShutdown {
  private readonly logger = new Logger(IngestConsumer.name);
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private pausedForRedis = false;
  private receiveFailures = 0;

  constructor(
    private readonly ingest: IngestService,
    private readonly queue: IngestQueue,
    private readonly sqs: SqsService,
    private readonly redis: RedisStatus,
  ) {}

  @SqsMessageHandler(INGEST_CONSUMER, true)
  async handleBatch(messages: Message[]): Promise<Message[]> {
    const work: Promise<void> = this.settle(messages).finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
    // Returning before the batch is settled lets the library receive the next one meanwhile. While Redis is not
    // ready nothing more is received: every receive would count towards the dead-letter queue.
    while (this.inFlight.size >= MAX_BATCHES_IN_FLIGHT || (this.inFlight.size > 0 && !this.redis.isReady())) {
      await Promise.race(this.inFlight);
    }
    return [];
  }

  private async settle(messages: Message[]): Promise<void> {
    try {
      // At start-up, or during a short blip, Redis may be moments away: wait a little rather than fail the batch.
      if (!this.redis.isReady()) await this.redis.waitUntilReady(REDIS_GRACE_MS);
      const settled = await this.ingest.process(messages);
      const moved = await this.queue.deadLetter(
        settled.flatMap(({ message, verdict }) => (verdict.kind === 'dead-letter' ? [{ message, ...verdict }] : [])),
      );
      const handled = settled.flatMap(({ message, verdict }) => (verdict.kind === 'done' ? [message] : []));
      await this.queue.acknowledge([...handled, ...moved]);
      if (settled.some(({ verdict }) => verdict.kind === 'retry') && !this.redis.isReady()) void this.pauseForRedis();
    } catch (error) {
      this.logger.error(`batch of ${messages.length} left for redelivery: ${(error as Error).message}`);
    }
  }

  /**
   * While Redis is away every message would fail and burn one of its receives towards the dead-letter queue, so
   * the consumer stops receiving until Redis is back.
   */
  private async pauseForRedis(): Promise<void> {
    if (this.pausedForRedis || this.stopping) return;
    this.pausedForRedis = true;
    this.consumer()?.stop();
    this.logger.warn('Redis is unavailable: receiving from SQS is paused until it is back');
    while (!this.stopping && !(await this.redis.waitUntilReady(1000))) {
      // keep waiting; shutdown ends the loop
    }
    this.pausedForRedis = false;
    if (this.stopping) return;
    this.logger.log('Redis is back: receiving from SQS again');
    this.consumer()?.start();
  }

  @SqsConsumerEventHandler(INGEST_CONSUMER, 'error')
  onError(error: Error, messages?: Message | Message[]): void {
    // A receive aborted by stop() (shutdown or a pause for Redis) is not a failure.
    if (this.stopping || !this.consumer()?.status.isRunning) return;
    if (messages !== undefined) {
      this.logger.error(`SQS call failed while handling messages: ${error.message}`);
      return;
    }
    // A failed receive: back off exponentially instead of hammering an unreachable SQS, logging at growing gaps.
    this.receiveFailures++;
    const delay = Math.min(500 * 2 ** (this.receiveFailures - 1), MAX_RECEIVE_BACKOFF_MS);
    this.consumer()?.updateOption('pollingWaitTimeMs', delay);
    if ((this.receiveFailures & (this.receiveFailures - 1)) === 0) {
      this.logger.warn(`receive from SQS failed ${this.receiveFailures} time(s), next try in ${delay} ms: ${error.message}`);
    }
  }

  @SqsConsumerEventHandler(INGEST_CONSUMER, 'response_processed')
  onResponseProcessed(): void {
    this.receiveSucceeded();
  }

  @SqsConsumerEventHandler(INGEST_CONSUMER, 'empty')
  onEmpty(): void {
    this.receiveSucceeded();
  }

  private receiveSucceeded(): void {
    if (this.receiveFailures === 0) return;
    this.logger.log(`receiving from SQS again after ${this.receiveFailures} failed attempt(s)`);
    this.receiveFailures = 0;
    this.consumer()?.updateOption('pollingWaitTimeMs', 0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    const consumer = this.consumer();
    consumer?.stop({ abort: true });
    const deadline = Date.now() + DRAIN_DEADLINE_MS;
    while ((this.inFlight.size > 0 || consumer?.status.isPolling) && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.inFlight]), sleep(50)]);
    }
    if (this.inFlight.size > 0) {
      this.logger.warn(`shutdown deadline reached with ${this.inFlight.size} batch(es) in hand; SQS will redeliver them`);
    }
  }

  private consumer() {
    return this.sqs.consumers.get(INGEST_CONSUMER)?.instance;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
