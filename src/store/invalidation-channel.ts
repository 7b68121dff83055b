import { Logger } from '@nestjs/common';
import Redis, { Cluster, RedisOptions } from 'ioredis';
import { RedisClient } from './redis-client';

/** What the channel reports. Each call is made synchronously from a Redis reply, in the order Redis sent them. */
export interface InvalidationListener {
  /** These keys changed (written, deleted, expired or evicted) on some master. */
  keysChanged(keys: string[]): void;
  /**
   * Invalidations are (`true`) or are not (`false`) known to arrive from every master. Either way anything may have
   * changed unseen: on the way down changes from now on go unseen, on the way up those made meanwhile were.
   */
  coherenceChanged(coherent: boolean): void;
  /** Redis flushed a database (FLUSHALL, FLUSHDB) or a connection restarted: anything may have changed. */
  everythingChanged(): void;
}

const INVALIDATE_CHANNEL = '__redis__:invalidate';
/** A session that failed or closed is replaced after this long, growing to RESTART_MAX_MS while failures repeat. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 1000;
/**
 * A connection can die without closing (a half-open TCP connection, a paused server): a ping this often, answered
 * within PING_TIMEOUT_MS or the session is dropped, bounds how long invalidations can go missing unnoticed.
 */
const PING_INTERVAL_MS = 1000;
const PING_TIMEOUT_MS = 2000;

/**
 * Redis server-assisted client-side caching, in broadcasting mode, one connection per master (the one server when
 * standalone): the connection subscribes to `__redis__:invalidate` (RESP2) after turning on
 * `CLIENT TRACKING on REDIRECT <its own id> BCAST PREFIX <records> PREFIX <bodies>`, so the master sends it the name of
 * every record and body key that changes there, whoever changed it and whoever read it. Broadcasting instead of the
 * default mode keeps the reads on the shared, pipelined client (no tracked connection per master to route reads
 * through) and also reports keys that did not exist when they were read, which is what a reader waiting for a key
 * to appear needs. Its cost: every instance hears of every write, a few dozen bytes per key written.
 *
 * A session that closes, fails to set up, or stops answering pings is replaced by a new one; until every master has
 * a working session the channel reports itself not coherent.
 */
export class InvalidationChannel {
  private readonly logger = new Logger(InvalidationChannel.name);
  private readonly sessions = new Map<string, TrackingSession>();
  private coherent = false;
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefixes: string[],
    private readonly listener: InvalidationListener,
  ) {}

  get isCoherent(): boolean {
    return this.coherent;
  }

  start(): void {
    if (this.redis instanceof Cluster) {
      const cluster = this.redis;
      const follow = () => {
        if (cluster.status === 'ready') this.follow(cluster.nodes('master'));
      };
      cluster.on('ready', follow);
      cluster.on('+node', follow);
      cluster.on('-node', follow);
      // A failover promotes a replica the client already holds a connection to: its role changes without a +node,
      // and only the refreshed slot map says it is a master now (without a session to it, the changes made on it
      // would go unseen and reads would be served stale from the cache).
      cluster.on('refresh', follow);
      follow();
    } else {
      this.follow([this.redis]);
    }
    // The shared client reconnected: Redis may have restarted empty, or failed over, while it was away.
    this.redis.on('ready', () => this.listener.everythingChanged());
  }

  async close(): Promise<void> {
    this.closed = true;
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map((session) => session.close()));
    this.updateCoherence();
  }

  /** Keeps one session per master in `masters`, closing those of nodes that are no longer masters. */
  private follow(masters: Redis[]): void {
    if (this.closed) return;
    const wanted = new Map(masters.map((node) => [nodeName(node.options), node]));
    for (const [name, session] of this.sessions) {
      if (!wanted.has(name)) {
        this.sessions.delete(name);
        void session.close();
      }
    }
    for (const [name, node] of wanted) {
      if (!this.sessions.has(name)) this.sessions.set(name, this.openSession(name, node.options, 0));
    }
    this.updateCoherence();
  }

  private openSession(name: string, options: RedisOptions, failures: number): TrackingSession {
    const session = new TrackingSession(options, this.prefixes, failures, {
      keysChanged: (keys) => this.listener.keysChanged(keys),
      everythingChanged: () => this.listener.everythingChanged(),
      stateChanged: () => this.updateCoherence(),
      ended: (failuresInARow) => {
        if (this.closed || this.sessions.get(name) !== session) return;
        const delay = Math.min(RESTART_MIN_MS * 2 ** failuresInARow, RESTART_MAX_MS);
        setTimeout(() => {
          if (this.closed || this.sessions.get(name) !== session) return;
          this.sessions.set(name, this.openSession(name, options, failuresInARow));
          this.updateCoherence();
        }, delay).unref();
      },
      failed: (error) => this.logger.warn(`invalidation channel to ${name}: ${error.message}`),
    });
    return session;
  }

  private updateCoherence(): void {
    const coherent =
      !this.closed &&
      this.sessions.size > 0 &&
      [...this.sessions.values()].every((session) => session.subscribed) &&
      (!(this.redis instanceof Cluster) || this.redis.status === 'ready');
    if (coherent === this.coherent) return;
    this.coherent = coherent;
    this.listener.coherenceChanged(coherent);
  }
}

interface SessionEvents {
  keysChanged(keys: string[]): void;
  everythingChanged(): void;
  stateChanged(): void;
  /** The session is over (closed or failed); `failures` counts the sessions in a row that never subscribed. */
  ended(failures: number): void;
  failed(error: Error): void;
}

/** One connection to one master: tracking turned on, redirected to itself, subscribed. Never reconnects. */
class TrackingSession {
  subscribed = false;
  private readonly connection: Redis;
  private pinger: NodeJS.Timeout | null = null;
  private over = false;

  constructor(
    options: RedisOptions,
    private readonly prefixes: string[],
    /** Sessions to this master in a row, before this one, that never subscribed. */
    private readonly failures: number,
    private readonly events: SessionEvents,
  ) {
    this.connection = new Redis({
      ...options,
      connectionName: 'setgetapi-invalidations',
      lazyConnect: true,
      // A replacement session replaces a reconnect: tracking must be turned on before subscribing, on each connection.
      retryStrategy: () => null,
      autoResubscribe: false,
      enableAutoPipelining: false,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 0,
      commandTimeout: PING_TIMEOUT_MS,
    });
    this.connection.on('messageBuffer', (channel: Buffer, message: Buffer | Buffer[] | null) => {
      if (channel.toString() !== INVALIDATE_CHANNEL) return;
      // A null message: the server flushed its keyspace.
      if (message === null || !Array.isArray(message)) this.events.everythingChanged();
      else this.events.keysChanged(message.map((key) => key.toString()));
    });
    this.connection.on('error', (error: Error) => {
      if (this.failures === 0) this.events.failed(error);
    });
    this.connection.on('close', () => this.end());
    void this.setUp();
  }

  private async setUp(): Promise<void> {
    try {
      await this.connection.connect();
      const id = await this.connection.client('ID');
      const prefixArgs = this.prefixes.flatMap((prefix) => ['PREFIX', prefix]);
      await this.connection.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(id), 'BCAST', ...prefixArgs);
      await this.connection.subscribe(INVALIDATE_CHANNEL);
      if (this.over) return;
      this.subscribed = true;
      this.pinger = setInterval(() => {
        this.connection.ping().catch(() => this.connection.disconnect());
      }, PING_INTERVAL_MS).unref();
      this.events.stateChanged();
    } catch (error) {
      // Reported once per run of failures: a server that refuses CLIENT TRACKING would otherwise log every second.
      if (error instanceof Error && this.failures === 0) this.events.failed(error);
      this.connection.disconnect();
      this.end();
    }
  }

  private end(): void {
    if (this.over) return;
    this.over = true;
    if (this.pinger !== null) clearInterval(this.pinger);
    const everSubscribed = this.subscribed;
    this.subscribed = false;
    this.events.stateChanged();
    this.events.ended(everSubscribed ? 0 : this.failures + 1);
  }

  async close(): Promise<void> {
    this.over = true;
    if (this.pinger !== null) clearInterval(this.pinger);
    this.subscribed = false;
    await this.connection.quit().catch(() => this.connection.disconnect());
  }
}

function nodeName(options: RedisOptions): string {
  return `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
}
