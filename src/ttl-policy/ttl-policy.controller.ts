import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Audited, AuditChange, CurrentAuditChange } from '../audit/audited';
import { RequireApiKey } from '../common/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { TtlPolicy } from '../store/ttl-policy-store';
import {
  AccountParams,
  AccountQuery,
  AccountTtlPoliciesDto,
  EffectiveTtlDto,
  FlowParams,
  FlowQuery,
  PutTtlPolicyDto,
  TtlPolicyDto,
} from './ttl-policy.dto';
import { TtlPolicyService } from './ttl-policy.service';
import { EffectiveTtl } from './ttl-resolution';

@ApiTags('TTL policies (admin)')
@RequireApiKey('admin')
@ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid account id, flow id or body' })
@Controller('admin/ttl-policies')
export class TtlPolicyController {
  constructor(private readonly policies: TtlPolicyService) {}

  @Get()
  @ApiOperation({ summary: "An account's policy and all its flow policies" })
  @ApiOkResponse({ type: AccountTtlPoliciesDto })
  list(@Query() query: AccountQuery): Promise<AccountTtlPoliciesDto> {
    return this.policies.list(query.accountId);
  }

  @Get('effective')
  @ApiOperation({ summary: 'The TTL a write for this account and flow gets now, and where it comes from' })
  @ApiOkResponse({ type: EffectiveTtlDto })
  effective(@Query() query: FlowQuery): Promise<EffectiveTtl> {
    return this.policies.effective(query.accountId, query.flowId);
  }

  @Put('accounts/:accountId')
  @Audited('ttl-policy.put')
  @ApiOperation({ summary: "Set an account's TTL policy (applies to writes after it)" })
  @ApiOkResponse({ type: TtlPolicyDto })
  putAccount(
    @Param() params: AccountParams,
    @Body() body: PutTtlPolicyDto,
    @CurrentAuditChange() change: AuditChange,
  ): Promise<TtlPolicy> {
    return this.policies.put(params.accountId, null, body.ttlSeconds, change);
  }

  @Get('accounts/:accountId')
  @ApiOperation({ summary: "An account's TTL policy" })
  @ApiOkResponse({ type: TtlPolicyDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  getAccount(@Param() params: AccountParams): Promise<TtlPolicy> {
    return this.policies.get(params.accountId, null);
  }

  @Delete('accounts/:accountId')
  @Audited('ttl-policy.delete')
  @HttpCode(204)
  @ApiOperation({ summary: "Remove an account's TTL policy (writes after it get the default)" })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  deleteAccount(@Param() params: AccountParams, @CurrentAuditChange() change: AuditChange): Promise<void> {
    return this.policies.delete(params.accountId, null, change);
  }

  @Put('accounts/:accountId/flows/:flowId')
  @Audited('ttl-policy.put')
  @ApiOperation({ summary: "Set a flow's TTL policy (wins over the account's)" })
  @ApiOkResponse({ type: TtlPolicyDto })
  putFlow(
    @Param() params: FlowParams,
    @Body() body: PutTtlPolicyDto,
    @CurrentAuditChange() change: AuditChange,
  ): Promise<TtlPolicy> {
    return this.policies.put(params.accountId, params.flowId, body.ttlSeconds, change);
  }

  @Get('accounts/:accountId/flows/:flowId')
  @ApiOperation({ summary: "A flow's TTL policy" })
  @ApiOkResponse({ type: TtlPolicyDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  getFlow(@Param() params: FlowParams): Promise<TtlPolicy> {
    return this.policies.get(params.accountId, params.flowId);
  }

  @Delete('accounts/:accountId/flows/:flowId')
  @Audited('ttl-policy.delete')
  @HttpCode(204)
  @ApiOperation({ summary: "Remove a flow's TTL policy (writes after it get the account's)" })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  deleteFlow(@Param() params: FlowParams, @CurrentAuditChange() change: AuditChange): Promise<void> {
    return this.policies.delete(params.accountId, params.flowId, change);
  }
}
