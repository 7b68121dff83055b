/**
 * A dependency (Redis, SQS, MongoDB) could not answer. HTTP callers get 503 with Retry-After rather than 500: the
 * request was fine and is worth repeating.
 */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: string,
    cause: unknown,
  ) {
    super(`${dependency} is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'DependencyUnavailableError';
  }
}
