import { IncomingMessage } from 'node:http';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import Fastify from 'fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { API_KEY_HEADER } from './common/api-key.guard';
import { answerClientError, answerFrameworkError, answerUnmetExpectation } from './common/framework-errors';
import { reserveFirstRequestHook } from './common/first-request-hook';
import { NO_REQUEST_ID_YET } from './common/request-id';
import { deferJsonParseErrors } from './common/json-body';
import { AppConfig } from './config/app-config';
import { WEBHOOK_KEY_HEADER } from './query/query.service';

/** Builds the application for a validated configuration; main.ts and the end-to-end tests share it. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const fastify = Fastify({
    // The largest body any route takes is a message; a bigger one is refused (413) before it is parsed.
    bodyLimit: config.maxMessageBytes,
    requestIdHeader: false,
    genReqId: requestId,
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    // Node would answer a request without Host with a bare 400 of its own; nothing here depends on Host.
    http: { requireHostHeader: false },
  });
  // Before the adapter adds its hooks: a read EarlyReadHook answers runs none of them.
  reserveFirstRequestHook(fastify);
  // Nest's adapter on an instance built here takes the same options; what it adds to options it builds itself is a
  // router constraint for Nest's versioning, which the service does not use.
  const adapter = new FastifyAdapter(fastify);
  fastify.server.on('checkExpectation', answerUnmetExpectation);
  deferJsonParseErrors(fastify);

  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
    // JSON bodies are parsed by deferJsonParseErrors' parser; no form bodies are taken.
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  setUpSwagger(app);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The caller's x-request-id when it is sane (so a trace spans services), else none yet: only error answers carry
 * one, and answerError makes a fresh one for those (requestIdOf). A UUID for every request cost a hot read about
 * 1 µs for nothing.
 */
function requestId(request: IncomingMessage): string {
  const offered = request.headers['x-request-id'];
  return typeof offered === 'string' && REQUEST_ID.test(offered) ? offered : NO_REQUEST_ID_YET;
}

function setUpSwagger(app: NestFastifyApplication): void {
  SwaggerModule.setup('docs', app, createOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });
}

/**
 * The OpenAPI document of the routes `app` has (its roles'), as /docs-json serves it. scripts/openapi.ts builds it
 * the same way from an app created in preview mode, with no server and no connection.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  return SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('setGetApi')
      .setDescription(
        'Stores JSON data from upstream producers in Redis under any number of webhook keys, with a TTL set per ' +
          'account and per flow, and serves it to consumers who present a webhook key.',
      )
      .setVersion('1')
      .setLicense('UNLICENSED (private)', 'https://docs.npmjs.com/cli/configuring-npm/package-json#license')
      // Relative: the server that serves this document (Swagger UI's "Try it out" calls the same host).
      .addServer('/', 'This instance')
      .addApiKey(
        {
          type: 'apiKey',
          in: 'header',
          name: API_KEY_HEADER,
          description: 'A producer key (POST /v1/records, bound to one account) or an admin key (/admin routes)',
        },
        'api-key',
      )
      .addApiKey(
        {
          type: 'apiKey',
          in: 'header',
          name: WEBHOOK_KEY_HEADER,
          description: 'The webhook key a consumer reads the data of (GET /v1/data)',
        },
        'webhook-key',
      )
      .build(),
  );
}
