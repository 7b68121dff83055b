import pino, { Logger } from 'pino';
import { AppConfig } from '../config/app-config';

/**
 * The service's one pino logger: JSON lines, the configured level, and redaction of every place a credential
 * could appear, as a safety net (request lines are built without headers in the first place).
 */
export function createLogger(config: AppConfig): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'setgetapi', roles: [...config.roles].join(',') },
    redact: {
      paths: [
        'req.headers["x-api-key"]',
        'req.headers["x-webhook-key"]',
        'headers["x-api-key"]',
        'headers["x-webhook-key"]',
      ],
      censor: '[redacted]',
    },
  });
}
