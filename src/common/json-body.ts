import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { FastifyInstance } from 'fastify';
import secureJsonParse from 'secure-json-parse';
import { ApiException } from './api-exception';

/** Stands in for a request body that is not valid JSON until a pipe, which runs after the guards, rejects it. */
export class UnparsableJsonBody {
  constructor(readonly reason: string) {}
}

/**
 * Fastify parses bodies before Nest's guards run, which would answer 400 to a request without an API key.
 * SPEC §4 orders the checks: the key (401), then the body (400). So parsing never fails here; an unparsable body
 * travels as UnparsableJsonBody and RejectUnparsableBodyPipe refuses it once the guard has passed. Prototype
 * poisoning is refused as Fastify's own parser would, and as the worker does.
 *
 */
export function deferJsonParseErrors(fastify: FastifyInstance): void {
  // Every route takes JSON or nothing: any other content type is answered 415.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, secureJsonParse.parse(body as string));
    } catch (error) {
      done(null, new UnparsableJsonBody((error as Error).message));
    }
  });
}

@Injectable()
export class RejectUnparsableBodyPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'body' && value instanceof UnparsableJsonBody) {
      throw new ApiException(400, `The body is not valid JSON: ${value.reason}`);
    }
    return value;
  }
}
