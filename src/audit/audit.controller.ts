import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireApiKey } from '../common/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { AUDIT_MAX_ENTRIES, AUDIT_RETENTION_DAYS, AuditPage, AuditStore } from '../store/audit-store';
import { AuditPageDto, AuditQuery } from './audit.dto';

const DEFAULT_PAGE = 50;

@ApiTags('Audit (admin)')
@RequireApiKey('admin')
@Controller('admin/audit')
export class AuditController {
  constructor(private readonly audit: AuditStore) {}

  @Get()
  @ApiOperation({
    summary: 'Admin changes, newest first',
    description:
      `Every successful admin change, kept ${AUDIT_RETENTION_DAYS} days and at most about ${AUDIT_MAX_ENTRIES} ` +
      'entries. Paging with nextCursor is stable while entries are added.',
  })
  @ApiOkResponse({ type: AuditPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid limit or cursor' })
  list(@Query() query: AuditQuery): Promise<AuditPage> {
    return this.audit.page(query.limit ?? DEFAULT_PAGE, query.cursor ?? null);
  }
}
