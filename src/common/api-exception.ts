import { HttpException } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { ErrorResponseDto, FieldProblem } from './error-response.dto';

/** An HTTP error already in the contract's error shape (docs/contract.md), optionally with headers such as Retry-After. */
export class ApiException extends HttpException {
  constructor(
    status: number,
    message: string,
    options: { details?: FieldProblem[]; headers?: Record<string, string> } = {},
  ) {
    super(errorBody(status, message, options.details), status);
    this.headers = options.headers ?? {};
  }

  readonly headers: Record<string, string>;
}

export function errorBody(status: number, message: string, details?: FieldProblem[]): ErrorResponseDto {
  return {
    statusCode: status,
    error: STATUS_CODES[status] ?? 'Error',
    message,
    ...(details && details.length > 0 && { details }),
  };
}
