import { Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module';
import { MessageStatusController } from './message-status.controller';

/**
 * GET /v1/records/:messageId on gateway processes, beside POST /v1/records: the same producers ask. It reads
 * Redis; POST never does, so the gateway keeps accepting while Redis is away (status reads then answer 503).
 */
@Module({
  imports: [StoreModule],
  controllers: [MessageStatusController],
})
export class MessageStatusModule {}
