import { Injectable, Logger, OnModuleInit, ServiceUnavailableException } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { HealthCheckResult, HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { DependencyProbe, ProbeDownError, ReadinessProbe } from './dependency-probe';

/** Each probe gets this long; all run at once, so /health/ready answers within 2 s whatever hangs. */
const PROBE_TIMEOUT_MS = 1500;

export interface ReadinessReport {
  ready: boolean;
  checks: HealthCheckResult['details'];
}

/**
 * /health/ready answers anyone, so a down check says only that the dependency is down or did not answer in time:
 * driver messages name hosts, ports and sometimes credentials. The full reason goes to the log, once per change.
 */
const DOWN_MESSAGE = 'unavailable (the reason is in the service log)';
const NO_ANSWER_MESSAGE = `no answer within ${PROBE_TIMEOUT_MS} ms`;

@Injectable()
export class ReadinessService implements OnModuleInit {
  private readonly logger = new Logger(ReadinessService.name);
  private probes: DependencyProbe[] = [];
  /** The last reason logged per probe: a probe polled every few seconds logs a failure once, not at every poll. */
  private readonly loggedReasons = new Map<string, string>();

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly discovery: DiscoveryService,
  ) {}

  /** Every provider of the application exists before the first onModuleInit runs, so every probe is found here. */
  onModuleInit(): void {
    this.probes = this.discovery
      .getProviders({ metadataKey: ReadinessProbe.KEY })
      .map((wrapper) => wrapper.instance as DependencyProbe);
  }

  /**
   * Probes every dependency this process uses, now (no cached answer: a failure shows at the next probe). Ready
   * when every required one is up.
   */
  async check(): Promise<ReadinessReport> {
    let checks: HealthCheckResult['details'];
    try {
      checks = (await this.health.check(this.probes.map((probe) => () => this.indicate(probe)))).details;
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      checks = (error.getResponse() as HealthCheckResult).details;
    }
    const ready = this.probes.every((probe) => !probe.required || checks[probe.name]?.status === 'up');
    for (const check of Object.values(checks)) {
      if (check.degraded === true) {
        delete check.degraded;
        check.status = 'degraded' as 'up';
      }
    }
    return { ready, checks };
  }

  private async indicate(probe: DependencyProbe): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(probe.name);
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new Error(`${probe.name}: ${NO_ANSWER_MESSAGE}`));
      }, PROBE_TIMEOUT_MS);
    });
    try {
      const details = await Promise.race([probe.check(PROBE_TIMEOUT_MS), deadline]);
      this.loggedReasons.delete(probe.name);
      return indicator.up(details ?? undefined);
    } catch (error) {
      this.logDown(probe.name, error);
      const details = error instanceof ProbeDownError ? error.details : {};
      return indicator.down({ message: timedOut ? NO_ANSWER_MESSAGE : DOWN_MESSAGE, ...details });
    } finally {
      clearTimeout(timer);
    }
  }

  private logDown(name: string, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    if (this.loggedReasons.get(name) === reason) return;
    this.loggedReasons.set(name, reason);
    this.logger.warn({ check: name, reason }, `readiness: ${name} is down`);
  }
}
