import { DiscoveryService } from '@nestjs/core';

/** A readiness check of one dependency: resolves when it answers, rejects with the reason when not. */
export interface DependencyProbe {
  readonly name: string;
  /** A required dependency down makes the process not ready (503); an optional one is only reported. */
  readonly required: boolean;
  /** Resolves when the dependency answers; resolving with details that say `degraded` shows it so, still up. */
  check(timeoutMs: number): Promise<void | DegradedDetails>;
}

/** Working, but not as it should: shown as status `degraded` with these fields; readiness is not affected. */
export interface DegradedDetails {
  degraded: true;
  [field: string]: string | number | boolean;
}

/**
 * Marks a DependencyProbe provider for readiness: ReadinessService collects every provider so marked, whichever
 * module provides it. Feature folders (queue, archive, ingest) mark their own probes, so health imports none of
 * them, and a probe is checked exactly when the module providing it is loaded.
 */
export const ReadinessProbe = DiscoveryService.createDecorator<void>();

/** A probe's failure with fields for the check's JSON besides its message (e.g. why the worker is paused). */
export class ProbeDownError extends Error {
  constructor(
    message: string,
    readonly details: Record<string, string | number | boolean>,
  ) {
    super(message);
    this.name = 'ProbeDownError';
  }
}
