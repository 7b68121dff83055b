import type { Schema } from '@cfworker/json-schema';

/** OpenAPI-only keywords, not JSON Schema. */
const DOCUMENTATION_ONLY = new Set([
  'example',
  'examples',
  'default',
  'nullable',
  'readOnly',
  'writeOnly',
  'description',
]);

/**
 * The message's JSON Schema from the OpenAPI document this process publishes (/docs-json, components
 * RecordMessageDto), completed with the two rules that are not per field, exactly as the service's own
 * recordMessageJsonSchema does: no field outside the contract, and `data` required for "set", absent for "delete".
 * Null when this process does not document POST /v1/records (a process without the gateway role).
 */
export async function loadMessageSchema(): Promise<Schema | null> {
  let document: { components?: { schemas?: Record<string, unknown> } };
  try {
    const response = await fetch('/docs-json', { credentials: 'omit' });
    if (!response.ok) return null;
    document = (await response.json()) as typeof document;
  } catch {
    return null;
  }
  const published = document.components?.schemas?.RecordMessageDto;
  if (published === undefined) return null;
  return {
    $schema: 'http://json-schema.org/draft-04/schema#',
    ...(stripDocumentation(published) as Schema),
    additionalProperties: false,
    anyOf: [
      { properties: { op: { enum: ['delete'] } }, required: ['op'], not: { required: ['data'] } },
      { properties: { op: { enum: ['set'] } }, required: ['data'] },
    ],
  };
}

function stripDocumentation(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDocumentation);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).flatMap(([key, nested]) => {
      if (key === 'properties') {
        const properties = Object.entries(nested as Record<string, unknown>);
        return [[key, Object.fromEntries(properties.map(([name, schema]) => [name, stripDocumentation(schema)]))]];
      }
      return DOCUMENTATION_ONLY.has(key) ? [] : [[key, stripDocumentation(nested)]];
    }),
  );
}
