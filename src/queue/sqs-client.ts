import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';
import { AppConfig } from '../config/app-config';

export interface SqsClientTuning {
  /** Longest wait for one HTTP answer; a long poll needs more than its WaitTimeSeconds. */
  requestTimeoutMs: number;
  /** Attempts per call, the first included. */
  maxAttempts: number;
}

/**
 * An SQS client for the configured endpoint. The endpoint is always explicit when set: local emulators hand out
 * queue URLs whose host names do not resolve.
 */
export function createSqsClient(config: AppConfig, tuning: SqsClientTuning): SQSClient {
  const agentOptions = { keepAlive: true, maxSockets: 64 };
  return new SQSClient({
    region: config.aws.region,
    ...(config.sqs.endpoint !== null && { endpoint: config.sqs.endpoint }),
    ...(config.sqs.localCredentials && { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    maxAttempts: tuning.maxAttempts,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 2000,
      requestTimeout: tuning.requestTimeoutMs,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new Agent(agentOptions),
    }),
  });
}
