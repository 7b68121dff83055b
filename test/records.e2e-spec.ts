import { describeRecordsSuite } from './support/records-suite';
import { standaloneRedis } from './support/redis-target';

describeRecordsSuite('records: gateway → SQS FIFO → worker → Redis → query', standaloneRedis);
