import { Inject, Injectable } from '@nestjs/common';
import { ApiException } from '../common/api-exception';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ReadMissCounter } from '../store/read-miss-counter';
import { clientAddress } from './client-address';

const MINUTE_MS = 60_000;
/** Past this many blocked addresses, blocking another one first forgets those whose minute is over. */
const SWEEP_ABOVE = 1024;

/** Where a read came from, as the controller has it; resolved to an address only when needed. */
export interface ReadOrigin {
  socketAddress: string | undefined;
  forwardedFor: string | string[] | undefined;
}

/**
 * READ_MISS_LIMIT_PER_MINUTE: the webhook key is a credential, so guessing must not pay. Failed reads are counted
 * per client address and minute in Redis (every instance adds to the same counter); an address past the limit is
 * blocked here until its minute is over, and every webhook-key read from it answers 429, hit or miss, so that a
 * guesser learns nothing more that minute.
 *
 * The hit path pays one Map size test while no address is blocked; only misses touch Redis. Another instance
 * blocks the address at its own next miss from it (each miss it counts reads the shared count).
 */
@Injectable()
export class ReadMissLimiter {
  private readonly limit: number;
  private readonly trustProxy: boolean;
  /** Address → Unix ms its block ends. */
  private readonly blockedUntil = new Map<string, number>();

  constructor(
    private readonly counter: ReadMissCounter,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limit = config.reads.missLimitPerMinute;
    this.trustProxy = config.reads.trustProxy;
  }

  /** Whether any address is blocked now (or was, until its next read finds the block over). */
  get blocking(): boolean {
    return this.blockedUntil.size > 0;
  }

  /** Answers 429 (throws) when the read's address is blocked. */
  refuseIfBlocked(origin: ReadOrigin): void {
    if (this.blockedUntil.size === 0) return;
    const address = this.addressOf(origin);
    const until = this.blockedUntil.get(address);
    if (until === undefined) return;
    const now = Date.now();
    if (until <= now) this.blockedUntil.delete(address);
    else throw tooManyMisses(until, now);
  }

  /** Counts `misses` failed reads of the address; throws 429 instead when they take it past the limit. */
  async countMisses(origin: ReadOrigin, misses: number): Promise<void> {
    if (this.limit === 0 || misses === 0) return;
    const address = this.addressOf(origin);
    const now = Date.now();
    const minute = Math.floor(now / MINUTE_MS);
    let count: number;
    try {
      count = await this.counter.add(address, minute, misses);
    } catch {
      // The limit protects the keys; it is not what the reader asked about. A miss that cannot be counted (Redis
      // failed just now) is still answered as the miss it is.
      return;
    }
    if (count <= this.limit) return;
    const until = (minute + 1) * MINUTE_MS;
    if (this.blockedUntil.size >= SWEEP_ABOVE) this.forgetEndedBlocks(now);
    this.blockedUntil.set(address, until);
    throw tooManyMisses(until, now);
  }

  private addressOf(origin: ReadOrigin): string {
    return clientAddress(origin.socketAddress, origin.forwardedFor, this.trustProxy);
  }

  private forgetEndedBlocks(now: number): void {
    for (const [address, until] of this.blockedUntil) if (until <= now) this.blockedUntil.delete(address);
  }
}

function tooManyMisses(until: number, now: number): ApiException {
  const retryAfter = Math.max(1, Math.ceil((until - now) / 1000));
  return new ApiException(429, 'Too many reads of unknown webhook keys from this address; try again later', {
    headers: { 'retry-after': String(retryAfter) },
  });
}
