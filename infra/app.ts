/**
 * CDK app: the API Gateway → SQS ingest stack. Synthesises offline, no AWS account needed:
 *
 *   SETGETAPI_PRODUCER_ACCOUNTS=acme,globex npx ts-node --transpile-only infra/app.ts    # → cdk.out/
 *
 * Deploy with the CDK CLI (`npx cdk deploy --app "npx ts-node --transpile-only infra/app.ts"`), which sets
 * CDK_OUTDIR and the target account and region.
 */
import 'reflect-metadata';
import * as cdk from 'aws-cdk-lib';
import * as path from 'node:path';
import { recordMessageJsonSchema } from '../src/message/record-message.schema';
import { IngestApiStack, ProducerAccount } from './ingest-api-stack';

const EXAMPLE_PRODUCER = 'example';

async function main(): Promise<void> {
  // Generated from RecordMessageDto (it boots a tiny Nest app to read the Swagger metadata), hence async and
  // awaited before the stack exists.
  const recordMessageSchema = await recordMessageJsonSchema();
  const app = new cdk.App({ outdir: process.env.CDK_OUTDIR ?? path.join(__dirname, '..', 'cdk.out') });
  new IngestApiStack(app, 'SetGetApiIngest', {
    description: 'setGetApi: API Gateway → SQS FIFO ingest (POST /v1/records)',
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    recordMessageSchema,
    producers: producerAccounts(app),
    maxReceiveCount: positiveInt(process.env.SETGETAPI_MAX_RECEIVE_COUNT),
  });
  const assembly = app.synth();
  const stacks = assembly.stacks.map((stack) => stack.stackName).join(', ');
  process.stdout.write(`synthesised ${stacks} into ${assembly.directory}\n`);
}

/** From `-c producerAccounts=a,b` or SETGETAPI_PRODUCER_ACCOUNTS=a,b; one key is created per account. */
function producerAccounts(app: cdk.App): ProducerAccount[] {
  const fromContext: unknown = app.node.tryGetContext('producerAccounts');
  const list = typeof fromContext === 'string' ? fromContext : process.env.SETGETAPI_PRODUCER_ACCOUNTS;
  if (list === undefined || list.trim() === '') {
    process.stderr.write(
      'no SETGETAPI_PRODUCER_ACCOUNTS (or -c producerAccounts=...) given: ' +
        `synthesising with one producer account "${EXAMPLE_PRODUCER}"\n`,
    );
    return [{ accountId: EXAMPLE_PRODUCER }];
  }
  return list.split(',').map((accountId) => ({ accountId: accountId.trim() }));
}

function positiveInt(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new Error(`SETGETAPI_MAX_RECEIVE_COUNT must be a positive integer, got "${value}"`);
  }
  return parsed;
}

main().catch((error: unknown) => {
  process.stderr.write(`infra synth failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
