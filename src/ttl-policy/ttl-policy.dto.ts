import { ApiProperty } from '@nestjs/swagger';
import { IsDefined, IsInt, Matches, Max, Min, ValidateIf } from 'class-validator';
import { ENTITY_ID_PATTERN, ENTITY_ID_RULE, MAX_TTL_SECONDS } from '../contract/contract-rules';

export class AccountParams {
  @ApiProperty({ example: 'acme', pattern: ENTITY_ID_PATTERN.source })
  @Matches(ENTITY_ID_PATTERN, { message: `accountId must be ${ENTITY_ID_RULE}` })
  accountId!: string;
}

export class FlowParams extends AccountParams {
  @ApiProperty({ example: 'orders-sync', pattern: ENTITY_ID_PATTERN.source })
  @Matches(ENTITY_ID_PATTERN, { message: `flowId must be ${ENTITY_ID_RULE}` })
  flowId!: string;
}

export class AccountQuery extends AccountParams {}
export class FlowQuery extends FlowParams {}

export class PutTtlPolicyDto {
  @ApiProperty({
    type: 'integer',
    nullable: true,
    minimum: 1,
    maximum: MAX_TTL_SECONDS,
    example: 86400,
    description: 'Seconds data written under this policy lives, or null for "never expires"',
  })
  @IsDefined({ message: 'ttlSeconds is required (a number of seconds, or null for "never expires")' })
  @ValidateIf((policy: PutTtlPolicyDto) => policy.ttlSeconds !== null)
  @IsInt({ message: 'ttlSeconds must be an integer or null' })
  @Min(1, { message: 'ttlSeconds must be at least 1' })
  @Max(MAX_TTL_SECONDS, { message: `ttlSeconds must be at most ${MAX_TTL_SECONDS}` })
  ttlSeconds!: number | null;
}

export class TtlPolicyDto {
  @ApiProperty({ example: 'acme' })
  accountId!: string;

  @ApiProperty({ type: String, nullable: true, example: 'orders-sync', description: 'null for the account policy' })
  flowId!: string | null;

  @ApiProperty({ type: 'integer', nullable: true, example: 86400 })
  ttlSeconds!: number | null;

  @ApiProperty({ format: 'date-time', example: '2026-11-25T09:30:00.000Z' })
  updatedAt!: string;
}

export class AccountTtlPoliciesDto {
  @ApiProperty({ example: 'acme' })
  accountId!: string;

  @ApiProperty({ type: TtlPolicyDto, nullable: true })
  account!: TtlPolicyDto | null;

  @ApiProperty({ type: [TtlPolicyDto] })
  flows!: TtlPolicyDto[];
}

export class EffectiveTtlDto {
  @ApiProperty({ type: 'integer', nullable: true, example: 86400, description: 'null: never expires' })
  ttlSeconds!: number | null;

  @ApiProperty({ enum: ['flow', 'account', 'default'], example: 'account' })
  source!: 'flow' | 'account' | 'default';
}
