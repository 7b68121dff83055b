import { ArgumentMetadata, createParamDecorator, ExecutionContext, Injectable, PipeTransform } from '@nestjs/common';
import { FastifyInstance, FastifyRequest } from 'fastify';
import secureJsonParse from 'secure-json-parse';
import { ApiException } from './api-exception';

/** A JSON body: the text as received and the value parsed from it, for code that needs parts of the text verbatim. */
export interface JsonDocument {
  text: string;
  value: unknown;
}

/** Stands in for a request body that is not valid JSON until a pipe, which runs after the guards, rejects it. */
export class UnparsableJsonBody {
  constructor(readonly reason: string) {}
}

/**
 * Deepest nesting of arrays and objects a body may have: far beyond any real document, and well within the stack
 * that recursive JSON handling (JSON.stringify, class-transformer, Nest's ValidationPipe) needs, so a deeper body
 * is refused as invalid JSON instead of overflowing the stack (500 at the gateway, retries at the worker).
 */
export const MAX_JSON_DEPTH = 256;

/**
 * JSON.parse with the contract's rules, for HTTP bodies and SQS messages alike: prototype poisoning refused (as
 * Fastify's own parser does) and at most MAX_JSON_DEPTH levels of nesting. Throws SyntaxError.
 */
export function parseContractJson(text: string): unknown {
  const value: unknown = secureJsonParse.parse(text);
  // Every level takes at least two characters, so a short text cannot be too deep.
  if (text.length > 2 * MAX_JSON_DEPTH && exceedsDepth(value, MAX_JSON_DEPTH)) {
    throw new SyntaxError(`nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  return value;
}

/** Walks the value with a stack of its own: recursion is what a too-deep value would break. */
function exceedsDepth(root: unknown, maxDepth: number): boolean {
  const pending: [unknown, number][] = [[root, 0]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop() as [unknown, number];
    if (typeof value !== 'object' || value === null) continue;
    if (depth === maxDepth) return true;
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
  return false;
}

/** The text of a JSON body without a leading byte order mark, which RFC 8259 lets a parser ignore (as Fastify does). */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The text of a JSON body as received, for routes that keep parts of it verbatim (see JsonBodyText). */
    jsonBodyText?: string;
  }
}

/**
 * Fatal: a body that is not UTF-8 is refused rather than read with U+FFFD in place of its bad bytes, which would
 * store something the producer never sent. Strips a leading byte order mark.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Fastify parses bodies before Nest's guards run, which would answer 400 to a request without an API key.
 * The contract (docs/contract.md) orders the checks: the key (401), then the body (400). So parsing never fails here; an unparsable body
 * travels as UnparsableJsonBody and RejectUnparsableBodyPipe refuses it once the guard has passed.
 * The text is kept on the request beside the parsed body (see JsonBodyText).
 */
export function deferJsonParseErrors(fastify: FastifyInstance): void {
  // Every route takes JSON or nothing: any other content type is answered 415.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = UTF8.decode(body as Buffer);
    } catch {
      done(null, new UnparsableJsonBody('the body is not valid UTF-8'));
      return;
    }
    request.jsonBodyText = text;
    try {
      done(null, parseContractJson(text));
    } catch (error) {
      done(null, new UnparsableJsonBody((error as Error).message));
    }
  });
}

/** The text of the request's JSON body as received (decoded from UTF-8), or undefined when it had none. */
export const JsonBodyText = createParamDecorator(
  (_: unknown, context: ExecutionContext): string | undefined =>
    context.switchToHttp().getRequest<FastifyRequest>().jsonBodyText,
);

@Injectable()
export class RejectUnparsableBodyPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'body' && value instanceof UnparsableJsonBody) {
      throw new ApiException(400, `The body is not valid JSON: ${value.reason}`);
    }
    return value;
  }
}
