import { DynamicModule, Module } from '@nestjs/common';
import { GatewayController } from './gateway.controller';
import { GatewayService } from './gateway.service';

/** POST /v1/records: the API Gateway's job when running without AWS. Needs SQS only, never Redis. */
@Module({})
export class GatewayModule {
  /** @param queueModule the one QueueModule AppModule built, sending enabled, so each SQS client exists once */
  static forRoot(queueModule: DynamicModule): DynamicModule {
    return {
      module: GatewayModule,
      imports: [queueModule],
      controllers: [GatewayController],
      providers: [GatewayService],
    };
  }
}
