import { ReplyError } from 'ioredis';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';

/**
 * Redis replies that say "not now" rather than "never": the server is full (OOM under `noeviction`), a replica
 * (READONLY), loading its data set (LOADING), without a master or quorum (MASTERDOWN, CLUSTERDOWN, TRYAGAIN), busy
 * with a slow script (BUSY), or short of replicas for a write (NOREPLICAS). Writes refused this way succeed once
 * the condition passes, so they are passing failures exactly like a dropped connection.
 */
const PASSING_REPLY_CODES = ['OOM', 'READONLY', 'LOADING', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN', 'BUSY', 'NOREPLICAS'];

/** The reply code of a passing Redis failure (`OOM`, `READONLY`, ...), or null for any other reply error. */
export function passingReplyCode(error: Error): string | null {
  const code = error.message.split(' ', 1)[0];
  return PASSING_REPLY_CODES.includes(code) ? code : null;
}

/**
 * Sorts a failed Redis call. A reply error that is not passing (a script bug, a wrong type) is a fault of ours and
 * is rethrown as it is; everything else (connection refused or lost, a timeout, retries exhausted, and the passing
 * replies above) means Redis is unavailable for now and becomes a DependencyUnavailableError.
 */
export function redisUnavailable(error: unknown): never {
  if (error instanceof ReplyError && passingReplyCode(error as Error) === null) throw error;
  throw new DependencyUnavailableError('Redis', error);
}
