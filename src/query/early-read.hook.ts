import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { setFirstRequestHook } from '../common/first-request-hook';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { WEBHOOK_KEY_PATTERN } from '../contract/contract-rules';
import { RecordReader } from '../store/record-reader';
import { etagMatches } from './etag';
import { preferredWaitSeconds } from './prefer-wait';
import { ReadMissLimiter } from './read-miss-limiter';
import { QueryService, waitUntilGone, WEBHOOK_KEY_HEADER } from './query.service';

declare module 'fastify' {
  interface FastifyRequest {
    /** EarlyReadHook held this read's `Prefer: wait` already: the controller answers without waiting again. */
    waitHeld: boolean;
    /**
     * EarlyReadHook's read of this request failed (Redis unavailable, timed out): the controller answers this error
     * rather than meet the failure (or the timeout) a second time.
     */
    earlyReadError: Error | undefined;
  }
}

const READ_ROUTE = '/v1/data';
const JSON_CONTENT = 'application/json; charset=utf-8';

/**
 * `GET /v1/data` work done in the Fastify instance's first `onRequest` hook, before Nest's adapter hooks and router
 * see the request:
 *
 * - **Plain reads that find data are answered here**, from the cache or from Redis. Skipping Nest's guards, pipes
 *   and parameter extraction saved 5–10 % of the CPU per hot read (same-run A/B, bench/RESULTS.md). It answers only
 *   what QueryController would answer the same way: a well-formed key that holds data (200, or 304 for the ETag in
 *   If-None-Match), no `Prefer` header, and no address blocked by the miss limit on this instance. A key without
 *   data goes on to the controller, which reads again and answers 404 and counts the miss; a read that failed goes
 *   on with its error (`earlyReadError`), which the controller answers.
 * - **Waits are held here.** A read with `Prefer: wait` waits in this hook until its answer differs from what the
 *   client has, or the wait is over, and only then goes on to the controller, which reads once more and answers
 *   (status, headers and errors stay the controller's). A waiter held here has none of Nest's per-request objects
 *   yet, which is most of what 10,000 held reads cost in memory (bench/RESULTS.md, `bench:waiting`).
 *
 * Everything else (misses, malformed keys or preferences, blocked addresses, 429s) goes straight on to the controller.
 */
@Injectable()
export class EarlyReadHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly reader: RecordReader,
    private readonly query: QueryService,
    private readonly limiter: ReadMissLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.decorateRequest('waitHeld', false);
    fastify.decorateRequest('earlyReadError', undefined);
    // The instance's first onRequest hook (createApp reserves it): a read answered here runs none of the hooks Nest's
    // adapter adds.
    setFirstRequestHook(fastify, (request, reply, done) => {
      if (request.method !== 'GET' || request.routeOptions.url !== READ_ROUTE || this.limiter.blocking) return done();
      const webhookKey = request.headers[WEBHOOK_KEY_HEADER];
      if (typeof webhookKey !== 'string' || !WEBHOOK_KEY_PATTERN.test(webhookKey)) return done();
      if (request.headers.prefer !== undefined) this.holdWait(request, reply, webhookKey, done);
      else this.answerRead(request, reply, webhookKey, done);
    });
  }

  /** Answers a read of a key that holds data: from the cache when it can (synchronously), else from Redis. */
  private answerRead(request: FastifyRequest, reply: FastifyReply, webhookKey: string, done: () => void): void {
    const ifNoneMatch = request.headers['if-none-match'];
    const found = this.reader.cacheActive ? this.reader.readCached(webhookKey) : null;
    if (found !== null) {
      answer(reply, found.etag, ifNoneMatch !== undefined && etagMatches(ifNoneMatch, found.etag) ? null : found.body);
      return;
    }
    const holdsCurrent = ifNoneMatch === undefined ? undefined : (etag: string) => etagMatches(ifNoneMatch, etag);
    this.reader
      .read(webhookKey, holdsCurrent)
      .then(
        (result) => {
          if (result.kind === 'missing') done();
          else answer(reply, result.etag, result.kind === 'found' ? result.body : null);
        },
        (error: unknown) => {
          request.earlyReadError = error instanceof Error ? error : new Error(String(error));
          done();
        },
      )
      // Answering itself failing (none is known to): Fastify's error path answers, never an unhandled rejection.
      .catch((error: unknown) => reply.send(error instanceof Error ? error : new Error(String(error))));
  }

  private holdWait(request: FastifyRequest, reply: FastifyReply, webhookKey: string, done: () => void): void {
    const { prefer } = request.headers;
    const seconds = typeof prefer === 'string' ? preferredWaitSeconds(prefer, this.config.reads.waitMaxSeconds) : null;
    if (seconds === null) return done();
    // Whatever ends the wait (a change, the time, the client gone, shutdown, a Redis failure the controller's own
    // read will meet and answer), the controller answers without waiting again.
    const goOn = () => {
      request.waitHeld = true;
      done();
    };
    this.query
      .readOnceChanged(webhookKey, request.headers['if-none-match'], waitUntilGone(seconds, reply.raw))
      .then(goOn, goOn);
  }
}

/** What QueryController answers for data found: the ETag, and the document or (null: the client has it) 304. */
function answer(reply: FastifyReply, etag: string, body: Buffer | null): void {
  reply.header('etag', etag);
  if (body === null) void reply.code(304).send();
  else void reply.header('content-type', JSON_CONTENT).send(body);
}
