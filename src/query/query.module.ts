import { Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module';
import { QueryLatencyHook } from './query-latency.hook';
import { QueryController } from './query.controller';
import { QueryService } from './query.service';

@Module({
  imports: [StoreModule],
  controllers: [QueryController],
  providers: [QueryService, QueryLatencyHook],
})
export class QueryModule {}
