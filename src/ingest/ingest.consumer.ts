import { BeforeApplicationShutdown, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { SqsConsumerEventHandler, SqsMessageHandler, SqsService } from '@ssut/nestjs-sqs';
import { QueueMessage } from '../queue/sqs-types';
import { BatchSettler } from './batch-settler';
import { WritePause } from './write-pause';

export const INGEST_CONSUMER = 'ingest';

/** Longest pause between receives while SQS keeps failing. */
const MAX_RECEIVE_BACKOFF_MS = 10_000;
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
 * Receives batches from the ingest queue (through @ssut/nestjs-sqs) and hands each to BatchSettler, which deletes
 * messages itself rather than letting sqs-consumer do it: moved and handled messages go in one DeleteMessageBatch,
 * and a delete is not aborted by shutdown. While Redis refuses writes (WritePause), receiving stops: every receive
 * would count towards the dead-letter queue.
 *
 * The library runs handlers outside Nest's filters and does not wait for them on shutdown, so this class keeps
 * track of the batches in hand, never lets an error escape, and drains before the Redis connection closes.
 */
@Injectable()
export class IngestConsumer implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(IngestConsumer.name);
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private receiveFailures = 0;

  constructor(
    private readonly settler: BatchSettler,
    private readonly sqs: SqsService,
    private readonly pause: WritePause,
  ) {
    pause.listen({
      paused: () => this.stopReceiving(),
      resumed: () => void this.receiveAgain(),
    });
  }

  @SqsMessageHandler(INGEST_CONSUMER, true)
  async handleBatch(messages: QueueMessage[]): Promise<QueueMessage[]> {
    const work: Promise<void> = this.settler.settle(messages).finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
    // Returning before the batch is settled lets the library receive the next one meanwhile.
    while (this.inFlight.size >= MAX_BATCHES_IN_FLIGHT) {
      await Promise.race(this.inFlight);
    }
    return [];
  }

  /**
   * Aborts a long poll too: a receive answered now would hand out messages the worker cannot apply. The library
   * schedules its next poll after `pollingWaitTimeMs` even when stopped; at 0 that timer fires (and finds the
   * consumer stopped) at once, so it cannot start a second poll loop after receiveAgain.
   */
  private stopReceiving(): void {
    const consumer = this.consumer();
    consumer?.updateOption('pollingWaitTimeMs', 0);
    consumer?.stop({ abort: true });
  }

  /** SqsService stops the consumer in its own onModuleDestroy; from then on nothing may start it again. */
  onModuleDestroy(): void {
    this.stopping = true;
  }

  /**
   * Starts receiving after a pause, once the library's poll loop of before the pause has ended: starting while it
   * still waits in handleBatch would run two poll loops side by side.
   */
  private async receiveAgain(): Promise<void> {
    const consumer = this.consumer();
    while (consumer?.status.isPolling && !this.stopping && this.pause.current() === null) await sleep(50);
    await sleep(50);
    if (this.stopping || this.pause.current() !== null) return;
    consumer?.start();
  }

  @SqsConsumerEventHandler(INGEST_CONSUMER, 'error')
  onError(error: Error, messages?: QueueMessage | QueueMessage[]): void {
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
      this.logger.warn(
        `receive from SQS failed ${this.receiveFailures} time(s), next try in ${delay} ms: ${error.message}`,
      );
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
    // Batches held while Redis refuses writes let go of their messages now, so the drain below is quick.
    this.pause.shutdown();
    const consumer = this.consumer();
    consumer?.stop({ abort: true });
    const deadline = Date.now() + DRAIN_DEADLINE_MS;
    while ((this.inFlight.size > 0 || consumer?.status.isPolling) && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.inFlight]), sleep(50)]);
    }
    if (this.inFlight.size > 0) {
      this.logger.warn(
        `shutdown deadline reached with ${this.inFlight.size} batch(es) in hand; SQS will redeliver them`,
      );
    }
  }

  private consumer() {
    return this.sqs.consumers.get(INGEST_CONSUMER)?.instance;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
