import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldProblemDto {
  @ApiProperty({ example: 'webhookKeys' })
  field!: string;

  @ApiProperty({ example: 'webhookKeys[2] must be 8 to 512 printable ASCII characters without whitespace' })
  message!: string;
}

export type FieldProblem = FieldProblemDto;

/** The one shape of every error answer (docs/contract.md). */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiProperty({ example: 'The message is invalid' })
  message!: string;

  @ApiPropertyOptional({ type: [FieldProblemDto] })
  details?: FieldProblem[];
}
