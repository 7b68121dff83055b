import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { ENTITY_ID_PATTERN, ENTITY_ID_RULE } from '../contract/contract-rules';

export class AccountParams {
  @ApiProperty({ example: 'acme' })
  @Matches(ENTITY_ID_PATTERN, { message: `accountId must be ${ENTITY_ID_RULE}` })
  accountId!: string;
}
