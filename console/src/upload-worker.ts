/// <reference lib="webworker" />
import { Validator, type Schema } from '@cfworker/json-schema';
import { splitMessages } from './messages';

/**
 * Parses and validates an upload off the main thread, so that 10,000 messages never block the page: the results go
 * back in chunks, each a few milliseconds of work for the page to take in.
 */
export interface ParseRequest {
  /** A file is read here, not on the page: decoding megabytes of UTF-8 is a task of its own. */
  source: string | File;
  fileName: string;
  /** The message's JSON Schema, or null when this process does not publish it (validation then is the server's). */
  schema: Schema | null;
}

export interface ParsedMessage {
  label: string;
  text: string;
  /** Empty when the message may be sent. */
  problems: string[];
}

export type ParseReply =
  { kind: 'chunk'; messages: ParsedMessage[]; done: number; total: number } | { kind: 'end'; problem?: string };

const CHUNK = 500;

self.onmessage = async (event: MessageEvent<ParseRequest>) => {
  const { source, fileName, schema } = event.data;
  const text = typeof source === 'string' ? source : await source.text();
  const { messages, problem } = splitMessages(text, fileName);
  const validator = schema === null ? null : new Validator(schema, '4', false);
  for (let start = 0; start < messages.length; start += CHUNK) {
    const chunk = messages.slice(start, start + CHUNK).map(({ label, text: messageText }) => ({
      label,
      text: messageText,
      problems: check(messageText, validator),
    }));
    reply({ kind: 'chunk', messages: chunk, done: start + chunk.length, total: messages.length });
  }
  reply({ kind: 'end', problem });
};

function reply(message: ParseReply): void {
  postMessage(message);
}

function check(text: string, validator: Validator | null): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return [`not JSON: ${error instanceof Error ? error.message : String(error)}`];
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['a message is a JSON object'];
  if (validator === null) return [];
  const result = validator.validate(value);
  if (result.valid) return [];
  // The validator reports each failing keyword up the tree; the leaves (the longest instance paths) say the most.
  const deepest = new Map<string, string>();
  for (const unit of result.errors) {
    const field = unit.instanceLocation.replace(/^#\/?/, '').replace(/\//g, '.') || '(message)';
    if (!deepest.has(field)) deepest.set(field, unit.error);
  }
  return [...deepest].map(([field, error]) => `${field}: ${error}`);
}
