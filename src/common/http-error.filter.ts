import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { ApiException, errorBody } from './api-exception';
import { DependencyUnavailableError } from './dependency-unavailable.error';
import { ErrorResponseDto, FieldProblem } from './error-response.dto';
import { requestIdOf } from './request-id';

/** What a client is asked to wait before repeating a request a dependency could not serve. */
const RETRY_AFTER_SECONDS = 1;

/**
 * Turns every error into the JSON error body of the contract (docs/contract.md): Nest's HTTP exceptions, Fastify's own errors (body too large,
 * unparsable JSON, wrong content type) and anything unexpected, which answers 500 without leaking a stack trace.
 *
 * It is also the access log: each error answer is one log line with the request id, which the answer carries
 * in x-request-id. Successful requests are not logged (metrics count them): a hook per request cost the read
 * path about a tenth of its throughput in bench/query.ts.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    answerError(
      host.switchToHttp().getRequest<FastifyRequest>(),
      host.switchToHttp().getResponse<FastifyReply>(),
      exception,
    );
  }
}

const logger = new Logger(HttpErrorFilter.name);

/**
 * Answers an error in the contract's error shape with the request id, and logs it. Also used for the errors Fastify raises
 * before any route runs (src/common/framework-errors.ts), which Nest's filters never see.
 */
export function answerError(request: FastifyRequest, reply: FastifyReply, exception: unknown): void {
  const { body, headers } = describe(exception);
  const id = requestIdOf(request);
  log(request, id, body, exception);
  void reply.status(body.statusCode).headers(headers).header('x-request-id', id).send(body);
}

/**
 * 500 is a fault of ours (error, with the stack); other 5xx an outage (warn); 404 and 429 routine (debug: a guessing
 * flood answered 429 must not cost a log line per request); other 4xx info.
 */
function log(request: FastifyRequest, id: string, body: ErrorResponseDto, exception: unknown): void {
  const fields = {
    req: { id, method: request.method, url: request.url },
    ...(request.principal && { actor: request.principal.id }),
    res: { statusCode: body.statusCode },
    ...(body.statusCode === 500 && { err: exception instanceof Error ? exception.stack : String(exception) }),
    // The driver's reason (hosts, ports, error text) stays here, in the log; the answer names only the dependency.
    ...(exception instanceof DependencyUnavailableError && { reason: exception.message }),
  };
  const status = body.statusCode;
  if (status === 500) logger.error(fields, body.message);
  else if (status >= 500) logger.warn(fields, body.message);
  else if (status === 404 || status === 429) logger.debug(fields, body.message);
  else logger.log(fields, body.message);
}

function describe(exception: unknown): { body: ErrorResponseDto; headers: Record<string, string> } {
  if (exception instanceof ApiException) {
    return { body: exception.getResponse() as ErrorResponseDto, headers: exception.headers };
  }
  if (exception instanceof HttpException) {
    return { body: fromNestException(exception), headers: {} };
  }
  if (exception instanceof DependencyUnavailableError) {
    return {
      body: errorBody(503, `${exception.dependency} is unavailable; retry later`),
      headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
    };
  }
  const status = statusOf(exception);
  if (status !== undefined && status < 500) {
    return { body: errorBody(status, (exception as Error).message), headers: {} };
  }
  return { body: errorBody(500, 'Internal server error'), headers: {} };
}

function fromNestException(exception: HttpException): ErrorResponseDto {
  const status = exception.getStatus();
  const response = exception.getResponse();
  if (typeof response === 'string') return errorBody(status, response);
  const { message, details } = response as { message?: unknown; details?: FieldProblem[] };
  if (Array.isArray(message)) {
    return errorBody(
      status,
      'Invalid request',
      message.map((text) => ({ field: '(request)', message: String(text) })),
    );
  }
  return errorBody(status, typeof message === 'string' ? message : exception.message, details);
}

/** Fastify and its plugins mark client errors with a numeric statusCode. */
function statusOf(exception: unknown): number | undefined {
  const status = (exception as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status <= 599 ? status : undefined;
}
