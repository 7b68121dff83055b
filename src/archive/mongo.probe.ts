import { Injectable } from '@nestjs/common';
import { DependencyProbe, ReadinessProbe } from '../health/dependency-probe';
import { ArchiveRepository } from './archive.repository';

/** MongoDB as readiness sees it: reported, but not required (the service serves without its archive). */
@Injectable()
@ReadinessProbe()
export class MongoProbe implements DependencyProbe {
  readonly name = 'mongodb';
  readonly required = false;

  constructor(private readonly archive: ArchiveRepository) {}

  check(): Promise<void> {
    return this.archive.ping();
  }
}
