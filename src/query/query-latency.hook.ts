import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance } from 'fastify';
import { Histogram } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';

const QUERY_ROUTE_PREFIX = '/v1/data';

/**
 * Feeds the query latency histogram from Fastify's own response timing. A Fastify hook rather than a Nest
 * interceptor: it costs one function call per read instead of an Observable chain, and it also sees the 304s and
 * the errors the exception filter answers.
 */
@Injectable()
export class QueryLatencyHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const histogram = this.metrics.queryDuration;
    // One labelled child per route and status, looked up by a string key: prom-client would otherwise hash the
    // label object on every observation.
    const series = new Map<string, Histogram.Internal<'route' | 'status'>>();
    fastify.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url;
      if (route !== undefined && route.startsWith(QUERY_ROUTE_PREFIX)) {
        const key = `${reply.statusCode}${route}`;
        let child = series.get(key);
        if (child === undefined) {
          child = histogram.labels({ route, status: String(reply.statusCode) });
          series.set(key, child);
        }
        child.observe(reply.elapsedTime / 1000);
      }
      done();
    });
  }
}
