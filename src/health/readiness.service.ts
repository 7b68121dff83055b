import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { withDeadline } from '../common/deadline';
import { DEPENDENCY_PROBES, DependencyProbe } from './dependency-probe';

/** Each probe gets this long; all run at once, so /health/ready answers within 2 s whatever hangs. */
const PROBE_TIMEOUT_MS = 1500;

export interface ReadinessReport {
  ready: boolean;
  checks: HealthCheckResult['details'];
}

@Injectable()
export class ReadinessService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(DEPENDENCY_PROBES) private readonly probes: DependencyProbe[],
  ) {}

  /** Probes every dependency this process needs, now (no cached answer: a failure shows at the next probe). */
  async check(): Promise<ReadinessReport> {
    try {
      const result = await this.health.check(this.probes.map((probe) => () => this.indicate(probe)));
      return { ready: true, checks: result.details };
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      return { ready: false, checks: (error.getResponse() as HealthCheckResult).details };
    }
  }

  private async indicate(probe: DependencyProbe): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(probe.name);
    try {
      await withDeadline(probe.check(PROBE_TIMEOUT_MS), PROBE_TIMEOUT_MS, probe.name);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }
}
