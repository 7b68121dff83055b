import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class AcceptedRecordDto {
  @ApiProperty({ example: '5fea7756-0ea4-451a-a703-a558b933e274', description: 'SQS message id' })
  messageId!: string;

  @ApiPropertyOptional({ example: '18849496460467696128', description: 'FIFO sequence number' })
  sequenceNumber?: string;
}
