import { Module } from '@nestjs/common';
import { ConsoleSite } from './console-site';

/** The web console (GET /console), loaded on processes with the admin role. */
@Module({ providers: [ConsoleSite] })
export class ConsoleModule {}
