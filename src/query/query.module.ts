import { Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module';
import { EarlyReadHook } from './early-read.hook';
import { QueryLatencyHook } from './query-latency.hook';
import { QueryController } from './query.controller';
import { QueryService } from './query.service';
import { ReadMissLimiter } from './read-miss-limiter';
import { WaitingReads } from './waiting-reads';

@Module({
  imports: [StoreModule],
  controllers: [QueryController],
  providers: [QueryService, QueryLatencyHook, EarlyReadHook, WaitingReads, ReadMissLimiter],
})
export class QueryModule {}
