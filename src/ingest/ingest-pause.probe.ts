import { Injectable } from '@nestjs/common';
import { DependencyProbe, ProbeDownError, ReadinessProbe } from '../health/dependency-probe';
import { WritePause } from './write-pause';

/**
 * Shows in /health/ready that the worker has stopped receiving because Redis refuses writes, and why (OOM,
 * READONLY, ...): a Redis that is full still answers PING, so the redis check alone would not show it. Optional:
 * the process keeps serving reads, and the worker resumes by itself, so readiness stays as the other checks say.
 */
@Injectable()
@ReadinessProbe()
export class IngestPauseProbe implements DependencyProbe {
  readonly name = 'ingest';
  readonly required = false;

  constructor(private readonly pause: WritePause) {}

  check(): Promise<void> {
    const state = this.pause.current();
    if (state === null) return Promise.resolve();
    return Promise.reject(
      new ProbeDownError(
        `paused since ${state.since.toISOString()}: Redis refuses writes (${state.reason}): ${state.error}`,
        {
          paused: true,
          reason: state.reason,
          since: state.since.toISOString(),
        },
      ),
    );
  }
}
