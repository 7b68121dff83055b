import { ReplyError } from 'ioredis';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';

/**
 * Redis refusing a command (ReplyError: a script bug, a wrong type) is a fault of ours and stays as it is; any
 * other failure (connection refused or lost, timeout, retries exhausted) means Redis is unavailable.
 */
export function redisUnavailable(error: unknown): never {
  if (error instanceof ReplyError) throw error;
  throw new DependencyUnavailableError('Redis', error);
}
