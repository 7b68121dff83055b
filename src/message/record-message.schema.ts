import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { RecordMessageDto } from './record-message.dto';

export type JsonSchema = { [key: string]: unknown };

/** OpenAPI-only keywords, not JSON Schema. */
const DOCUMENTATION_ONLY = new Set(['example', 'examples', 'default', 'nullable', 'readOnly', 'writeOnly']);

@Module({})
class SchemaHost {}

/**
 * The message contract as a JSON Schema (draft 4, what AWS API Gateway validates request bodies with), generated
 * from RecordMessageDto, the same definition that Swagger documents and that the gateway and the worker validate
 * with. Two rules are not per-field and are spelled out here: no field outside the contract, and `data` required
 * for "set" (op absent or "set") and absent for "delete" (the DTO's IsDataForOp). The size limit
 * (MAX_MESSAGE_BYTES) is not expressible in JSON Schema; API Gateway's own payload limit and the worker apply.
 */
export async function recordMessageJsonSchema(): Promise<JsonSchema> {
  const app = await NestFactory.create(SchemaHost, new FastifyAdapter(), { logger: false });
  try {
    const document = SwaggerModule.createDocument(app, new DocumentBuilder().build(), {
      extraModels: [RecordMessageDto],
    });
    const openApi = document.components?.schemas?.[RecordMessageDto.name] as JsonSchema;
    return {
      $schema: 'http://json-schema.org/draft-04/schema#',
      title: 'RecordMessage',
      ...(toJsonSchema(openApi) as JsonSchema),
      additionalProperties: false,
      anyOf: [
        { properties: { op: { enum: ['delete'] } }, required: ['op'], not: { required: ['data'] } },
        { properties: { op: { enum: ['set'] } }, required: ['data'] },
      ],
    };
  } finally {
    await app.close();
  }
}

function toJsonSchema(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toJsonSchema);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !DOCUMENTATION_ONLY.has(key))
      .map(([key, nested]) => [key, key === 'properties' ? mapValues(nested, toJsonSchema) : toJsonSchema(nested)]),
  );
}

function mapValues(object: unknown, map: (value: unknown) => unknown): unknown {
  return Object.fromEntries(Object.entries(object as JsonSchema).map(([key, value]) => [key, map(value)]));
}
