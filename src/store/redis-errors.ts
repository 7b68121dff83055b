import { ReplyError } from 'ioredis';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';

/**
 * Redis replies that say "not now" rather than "never": the server is full (OOM under `noeviction`), a replica
 * (READONLY), loading its data set (LOADING), without a master or quorum (MASTERDOWN, CLUSTERDOWN, TRYAGAIN), busy
 * with a slow script (BUSY), or short of replicas for a write (NOREPLICAS), a slot that moved (MOVED, ASK), and the
 * few below. Writes refused this way succeed once
 * the condition passes, so they are passing failures exactly like a dropped connection.
 */
const PASSING_REPLY_CODES = [
  'OOM',
  'READONLY',
  'LOADING',
  'MASTERDOWN',
  'CLUSTERDOWN',
  'TRYAGAIN',
  'BUSY',
  'NOREPLICAS',
  // Writes stopped after a failed snapshot (a full disk, say): they resume once a snapshot succeeds.
  'MISCONF',
  // Credentials being rotated.
  'NOAUTH',
  'WRONGPASS',
  // A slot served elsewhere now (a failover, a resharding): the client follows the redirection and refreshes its map
  // of slots; a storm of them while the cluster settles passes once it has.
  'MOVED',
  'ASK',
  // apply-record-keys.lua refusing an attempt that took minutes between its steps: a fresh attempt succeeds.
  'ATTACHMENT_EXPIRED',
];

/** The reply code of a passing Redis failure (`OOM`, `READONLY`, ...), or null for any other reply error. */
export function passingReplyCode(error: Error): string | null {
  const code = error.message.split(' ', 1)[0];
  if (code === 'EXECABORT') {
    // A MULTI that Redis refused as a whole (every queued write refused under OOM, say): ioredis keeps the
    // refusals of the queued commands; the transaction passes when they do.
    const previous = (error as { previousErrors?: unknown }).previousErrors;
    if (!Array.isArray(previous)) return null;
    return previous.map((refusal: Error) => passingReplyCode(refusal)).find((found) => found !== null) ?? null;
  }
  return PASSING_REPLY_CODES.includes(code) ? code : null;
}

/** Errors JavaScript itself raises: a bug of ours on the way to Redis, never a state of Redis. */
const PROGRAMMING_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError];

/**
 * Sorts a failed Redis call. A reply error that is not passing (a script bug, a wrong type) and a JavaScript error
 * are faults of ours and are rethrown as they are: retrying them would loop for ever. Everything else (connection
 * refused or lost, a timeout, retries exhausted, and the passing replies above) means Redis is unavailable for now
 * and becomes a DependencyUnavailableError.
 */
export function redisUnavailable(error: unknown): never {
  if (error instanceof ReplyError && passingReplyCode(error as Error) === null) throw error;
  if (PROGRAMMING_ERRORS.some((kind) => error instanceof kind)) throw error;
  throw new DependencyUnavailableError('Redis', error);
}
