import * as apigateway from 'aws-cdk-lib/aws-apigateway';

/** A plain JSON Schema document, as src/message/record-message.schema.ts generates it. */
export type JsonSchemaDocument = { [keyword: string]: unknown };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const TYPES: ReadonlySet<string> = new Set(Object.values(apigateway.JsonSchemaType));

/**
 * Converts a draft-4 JSON Schema document into the CDK's `JsonSchema` (whose keys are camel-cased: `schema` for
 * `$schema`), which the CDK turns back into the document when it renders the API Gateway Model.
 *
 * Every keyword is converted explicitly, and a keyword this function does not know fails the synth: a new rule
 * added to the message definition must never be dropped silently from what API Gateway validates.
 */
export function toApiGatewayJsonSchema(document: unknown, path = '#'): apigateway.JsonSchema {
  const schema = objectAt(document, path);
  const result: Mutable<apigateway.JsonSchema> = {};
  for (const [keyword, value] of Object.entries(schema)) {
    const at = `${path}/${keyword}`;
    switch (keyword) {
      case '$schema':
        if (value !== apigateway.JsonSchemaVersion.DRAFT4) {
          throw new Error(`${at}: API Gateway models are JSON Schema draft 4, got ${JSON.stringify(value)}`);
        }
        result.schema = apigateway.JsonSchemaVersion.DRAFT4;
        break;
      case 'title':
        result.title = stringAt(value, at);
        break;
      case 'description':
        result.description = stringAt(value, at);
        break;
      case 'pattern':
        result.pattern = stringAt(value, at);
        break;
      case 'type':
        result.type = Array.isArray(value) ? value.map((item, i) => typeAt(item, `${at}/${i}`)) : typeAt(value, at);
        break;
      case 'properties':
        result.properties = Object.fromEntries(
          Object.entries(objectAt(value, at)).map(([name, property]) => [
            name,
            toApiGatewayJsonSchema(property, `${at}/${name}`),
          ]),
        );
        break;
      case 'required':
        result.required = arrayAt(value, at).map((item, i) => stringAt(item, `${at}/${i}`));
        break;
      case 'additionalProperties':
        result.additionalProperties = typeof value === 'boolean' ? value : toApiGatewayJsonSchema(value, at);
        break;
      case 'anyOf':
        result.anyOf = arrayAt(value, at).map((item, i) => toApiGatewayJsonSchema(item, `${at}/${i}`));
        break;
      case 'oneOf':
        result.oneOf = arrayAt(value, at).map((item, i) => toApiGatewayJsonSchema(item, `${at}/${i}`));
        break;
      case 'not':
        result.not = toApiGatewayJsonSchema(value, at);
        break;
      case 'items':
        result.items = Array.isArray(value)
          ? value.map((item, i) => toApiGatewayJsonSchema(item, `${at}/${i}`))
          : toApiGatewayJsonSchema(value, at);
        break;
      case 'enum':
        result.enum = arrayAt(value, at);
        break;
      case 'uniqueItems':
        result.uniqueItems = booleanAt(value, at);
        break;
      case 'minLength':
        result.minLength = numberAt(value, at);
        break;
      case 'maxLength':
        result.maxLength = numberAt(value, at);
        break;
      case 'minItems':
        result.minItems = numberAt(value, at);
        break;
      case 'maxItems':
        result.maxItems = numberAt(value, at);
        break;
      case 'minimum':
        result.minimum = numberAt(value, at);
        break;
      case 'maximum':
        result.maximum = numberAt(value, at);
        break;
      default:
        throw new Error(`${at}: keyword not supported by the API Gateway model conversion (infra/json-schema.ts)`);
    }
  }
  return result;
}

function objectAt(value: unknown, at: string): JsonSchemaDocument {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${at}: expected an object`);
  return value as JsonSchemaDocument;
}

function arrayAt(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${at}: expected an array`);
  return value;
}

function stringAt(value: unknown, at: string): string {
  if (typeof value !== 'string') throw new Error(`${at}: expected a string`);
  return value;
}

function numberAt(value: unknown, at: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${at}: expected a number`);
  return value;
}

function booleanAt(value: unknown, at: string): boolean {
  if (typeof value !== 'boolean') throw new Error(`${at}: expected a boolean`);
  return value;
}

function typeAt(value: unknown, at: string): apigateway.JsonSchemaType {
  if (typeof value !== 'string' || !TYPES.has(value))
    throw new Error(`${at}: not a JSON Schema type: ${String(value)}`);
  return value as apigateway.JsonSchemaType;
}
