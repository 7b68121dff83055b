/**
 * Writes the service's OpenAPI document (every role's routes, exactly what /docs-json serves) without starting a
 * server or connecting to anything: the app is created in Nest's preview mode, which registers the modules and
 * their routes but instantiates no provider.
 *
 *   ts-node --transpile-only scripts/openapi.ts [out-file]   writes it (default .local/openapi.json)
 *   ts-node --transpile-only scripts/openapi.ts --write-types  regenerates test/support/api-types.ts from it
 *   ts-node --transpile-only scripts/openapi.ts --check-types  fails when test/support/api-types.ts differs from a
 *                                                              fresh generation (the document changed: regenerate)
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { OpenAPI3 } from 'openapi-typescript';
import { AppModule } from '../src/app.module';
import { createOpenApiDocument } from '../src/bootstrap';
import { loadConfig } from '../src/config/app-config';

/** Placeholder configuration: every role, so every route is documented; nothing is connected to in preview mode. */
const DOCUMENT_ENV = {
  APP_ROLES: 'all',
  SQS_QUEUE_URL: 'http://127.0.0.1:9/000000000000/setgetapi-ingest.fifo',
  SQS_DLQ_URL: 'http://127.0.0.1:9/000000000000/setgetapi-ingest-dlq.fifo',
  PRODUCER_API_KEYS: 'openapi-document-producer:acme',
  ADMIN_API_KEYS: 'openapi-document-admin-key',
  WEBHOOK_KEY_SECRET: 'openapi-document-secret',
  // MongoDB set so that the archive's routes and probe are part of the document, as in a full deployment.
  MONGODB_URI: 'mongodb://127.0.0.1:9/setgetapi',
};

export async function buildOpenApiDocument(): Promise<object> {
  const app = await NestFactory.create(AppModule.forRoot(loadConfig(DOCUMENT_ENV)), new FastifyAdapter(), {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  try {
    return createOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

const ROOT = path.join(__dirname, '..');
export const API_TYPES_FILE = path.join(ROOT, 'test', 'support', 'api-types.ts');

/** The TypeScript types of the document's paths and schemas, as openapi-typescript writes them (for openapi-fetch). */
export async function generateApiTypes(document: object): Promise<string> {
  // defaultNonNullable off: a field with a default (the message's `op`) stays optional for the caller, as documented.
  // Loaded here, not at the top: jest (which imports buildOpenApiDocument) cannot load its ESM-only dependencies.
  const { default: openapiTS, astToString } = await import('openapi-typescript');
  const ast = await openapiTS(document as OpenAPI3, { alphabetize: true, defaultNonNullable: false });
  return `/* Generated from the OpenAPI document by \`npm run generate:api-types\`; \`npm test\` fails when it is stale. */\n${astToString(ast)}`;
}

async function main(args: string[]): Promise<void> {
  const document = await buildOpenApiDocument();
  const relative = (file: string) => path.relative(process.cwd(), file);
  if (args[0] === '--write-types' || args[0] === '--check-types') {
    const fresh = await generateApiTypes(document);
    if (args[0] === '--write-types') {
      writeFileSync(API_TYPES_FILE, fresh);
      process.stdout.write(`${relative(API_TYPES_FILE)} regenerated\n`);
      return;
    }
    const committed = existsSync(API_TYPES_FILE) ? readFileSync(API_TYPES_FILE, 'utf8') : '';
    if (committed !== fresh) {
      const [a, b] = [committed.split('\n'), fresh.split('\n')];
      const line = a.findIndex((text, index) => text !== b[index]);
      process.stderr.write(
        `${relative(API_TYPES_FILE)} is out of date with the OpenAPI document (first difference at line ${line + 1}:\n` +
          `  committed: ${a[line] ?? '(end of file)'}\n  generated: ${b[line] ?? '(end of file)'})\n` +
          'Run `npm run generate:api-types` and commit the result.\n',
      );
      process.exit(1);
    }
    process.stdout.write(`${relative(API_TYPES_FILE)} matches the OpenAPI document\n`);
    return;
  }
  const out = path.resolve(args[0] ?? path.join(ROOT, '.local', 'openapi.json'));
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`);
  process.stdout.write(`OpenAPI document written to ${relative(out)}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
