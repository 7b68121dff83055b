import fastifyStatic from '@fastify/static';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance, FastifyReply } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where `npm run build` puts the console's files (console/build.mjs): dist/console-web, beside the compiled server
 * (dist/console holds this module). The second path is the same folder seen from src/console, for an app run from
 * source (the in-process test apps) after a build.
 */
const SITE_DIRECTORIES = [join(__dirname, '..', 'console-web'), join(__dirname, '..', '..', 'dist', 'console-web')];

/**
 * The console loads nothing but its own files from this origin and talks only to this origin: no CDN, no inline
 * script or style, no frames, no plugins. Styles set from script (element.style) are CSSOM, which style-src allows.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * Serves the web console (GET /console and its files under /console/) with @fastify/static, on processes with the
 * admin role. It holds no state and calls nothing itself: the page signs in with an API key and calls the same HTTP
 * API as any client, so every rule (guards, audit, validation) applies to it unchanged.
 */
@Injectable()
export class ConsoleSite implements OnModuleInit {
  private readonly logger = new Logger(ConsoleSite.name);

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const root = SITE_DIRECTORIES.find((directory) => existsSync(join(directory, 'index.html')));
    if (root === undefined) {
      // A process started from source without a build: everything else works, only the console is absent.
      this.logger.warn('the console is not built (run npm run build); GET /console answers 404');
      return;
    }
    const indexHtml = readFileSync(join(root, 'index.html'));
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const withSecurityHeaders = (reply: FastifyReply) => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) void reply.header(name, value);
      return reply;
    };
    // The page itself: always revalidated, so a deploy's new asset names are picked up at once.
    fastify.get('/console', (_request, reply) => {
      void withSecurityHeaders(reply)
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(indexHtml);
    });
    void fastify.register(fastifyStatic, {
      root,
      prefix: '/console/',
      // Swagger UI may decorate the reply with sendFile too; this plugin needs no decorator.
      decorateReply: false,
      schemaHide: true,
      index: ['index.html'],
      // The build writes a .gz beside each file: browsers get the gzipped bytes without compressing per request.
      preCompressed: true,
      // Asset names do not change between deploys: always revalidated (ETag), never stale.
      cacheControl: true,
      maxAge: 0,
      setHeaders: (reply) => void withSecurityHeaders(reply),
    });
  }
}
