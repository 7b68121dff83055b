import { Injectable, OnModuleInit, ServiceUnavailableException } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { HealthCheckResult, HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { withDeadline } from '../common/deadline';
import { DependencyProbe, ProbeDownError, ReadinessProbe } from './dependency-probe';

/** Each probe gets this long; all run at once, so /health/ready answers within 2 s whatever hangs. */
const PROBE_TIMEOUT_MS = 1500;

export interface ReadinessReport {
  ready: boolean;
  checks: HealthCheckResult['details'];
}

@Injectable()
export class ReadinessService implements OnModuleInit {
  private probes: DependencyProbe[] = [];

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
    try {
      const details = await withDeadline(probe.check(PROBE_TIMEOUT_MS), PROBE_TIMEOUT_MS, probe.name);
      return indicator.up(details ?? undefined);
    } catch (error) {
      const details = error instanceof ProbeDownError ? error.details : {};
      return indicator.down({ message: error instanceof Error ? error.message : String(error), ...details });
    }
  }
}
