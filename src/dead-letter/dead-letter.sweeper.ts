import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DeadLetterService } from './dead-letter.service';

/** Shutdown must end within 10 s; the messages of a walk cut short become visible again within a minute. */
const SHUTDOWN_WAIT_MS = 2_000;

/**
 * Sweeps the dead-letter queue every DEAD_LETTER_SWEEP_SECONDS on scheduler processes (one walk at a time across
 * all of them, DeadLetterWalks' lease): indexes what SQS moved there by itself and updates the dead-letter gauges.
 */
@Injectable()
export class DeadLetterSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeadLetterSweeper.name);
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(
    private readonly deadLetters: DeadLetterService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.tick(), this.config.deadLetterSweepSeconds * 1000);
    this.timer.unref();
    this.tick();
  }

  /** Waits a little for a sweep in progress; a walk cut short leaves nothing behind that the next one minds. */
  async onApplicationShutdown(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    await Promise.race([this.sweeping, new Promise((resolve) => setTimeout(resolve, SHUTDOWN_WAIT_MS).unref())]);
  }

  private tick(): void {
    if (this.sweeping !== null) return;
    this.sweeping = this.deadLetters
      .sweep()
      .then(
        ({ seen, forgotten }) => this.logger.debug(`dead-letter sweep: ${seen} seen, ${forgotten} forgotten`),
        (error: Error) => this.logger.warn(`dead-letter sweep failed, next one in a moment: ${error.message}`),
      )
      .finally(() => (this.sweeping = null));
  }
}
