import { render } from 'velocityjs';

/**
 * Runs an API Gateway mapping template (Velocity, VTL) offline with velocityjs, with what API Gateway puts in scope:
 * `$input` (body, json, path, params), `$util` (urlEncode, urlDecode, escapeJavaScript, parseJson), `$context`
 * (requestId, identity.apiKeyId, responseOverride) and the Java String and Map methods templates call on values
 * (contains, startsWith, replaceAll with a Java regex, get, containsKey, size, isEmpty). Written from API Gateway's
 * mapping template reference; what it cannot tell is how API Gateway's own engine differs from velocityjs in
 * corner cases (whitespace around directives is kept by both).
 */

export interface VtlRequest {
  /** The raw request (or, for an integration response template, integration response) body. */
  body: string;
  headers?: { [name: string]: string };
  querystring?: { [name: string]: string };
  path?: { [name: string]: string };
  requestId?: string;
  apiKeyId?: string;
}

export interface VtlResult {
  output: string;
  /** What the template set with #set($context.responseOverride.status = ...), if anything. */
  statusOverride?: number;
}

/**
 * Java's null, as velocityjs has it: undefined, which `$!ref` renders as nothing (velocityjs renders a JavaScript
 * null as the text "null", where Velocity renders Java's null as nothing after `$!`).
 */
const JAVA_NULL = undefined;

/** A Java Map's lookups on a plain object: get(key) answers null for an absent key. */
function javaMap(entries: { [name: string]: string }) {
  return Object.assign(Object.create(null) as object, entries, {
    get: (key: string) => (Object.prototype.hasOwnProperty.call(entries, key) ? entries[key] : JAVA_NULL),
  });
}

/** `$.a.b[0]`-style JSONPath, as $input.path and $input.json take it. */
function jsonPath(value: unknown, expression: string): unknown {
  if (!expression.startsWith('$')) throw new Error(`unsupported JSONPath ${expression}`);
  const steps = expression.slice(1).match(/\.[^.[\]]+|\[\d+\]|\['[^']*'\]/g) ?? [];
  let current = value;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return JAVA_NULL;
    const key = step.startsWith('.')
      ? step.slice(1)
      : step.startsWith("['")
        ? step.slice(2, -2)
        : Number(step.slice(1, -1));
    current = (current as { [key: string]: unknown })[key as string] ?? JAVA_NULL;
  }
  return current;
}

/** java.net.URLEncoder.encode(text, "UTF-8"), which $util.urlEncode is: form encoding, space as "+". */
export function javaUrlEncode(text: string): string {
  return Array.from(Buffer.from(text, 'utf8'))
    .map((byte) => {
      const char = String.fromCharCode(byte);
      if (/[A-Za-z0-9.\-*_]/.test(char)) return char;
      if (char === ' ') return '+';
      return `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/** Apache Commons Lang's StringEscapeUtils.escapeJavaScript, which $util.escapeJavaScript is. */
export function escapeJavaScript(text: string): string {
  let out = '';
  for (const char of text) {
    for (let index = 0; index < char.length; index++) {
      const code = char.charCodeAt(index);
      const hex = code.toString(16).toUpperCase();
      if (code > 0x7f) out += `\\u${hex.padStart(4, '0')}`;
      else if (code < 32) {
        const named: { [code: number]: string } = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };
        out += named[code] ?? `\\u${hex.padStart(4, '0')}`;
      } else if (char === "'" || char === '"' || char === '\\' || char === '/') out += `\\${char}`;
      else out += char;
    }
  }
  return out;
}

/** A Java regex as JavaScript's, for the patterns templates use (no Java-only constructs). */
function javaRegex(pattern: string): RegExp {
  return new RegExp(pattern, 'g');
}

const JAVA_METHODS: Array<{
  uid: string;
  match: (call: { property: string; context: unknown }) => boolean;
  resolve: (call: { property: string; context: unknown; params: unknown[] }) => unknown;
}> = [
  {
    uid: 'java-string',
    match: ({ property, context }) =>
      typeof context === 'string' && ['contains', 'replaceAll', 'equals', 'length', 'isEmpty'].includes(property),
    resolve: ({ property, context, params }) => {
      const text = context as string;
      switch (property) {
        case 'contains':
          return text.includes(String(params[0]));
        case 'replaceAll':
          // Java's replacement string treats \ and $ specially; the templates use plain replacements.
          return text.replace(javaRegex(String(params[0])), String(params[1]).replace(/\\(.)/g, '$1'));
        case 'equals':
          return text === params[0];
        case 'length':
          return text.length;
        default:
          return text.length === 0;
      }
    },
  },
  {
    uid: 'java-map',
    match: ({ property, context }) =>
      context !== null &&
      typeof context === 'object' &&
      !Array.isArray(context) &&
      typeof context[property as keyof object] !== 'function' &&
      ['get', 'containsKey', 'size', 'isEmpty'].includes(property),
    resolve: ({ property, context, params }) => {
      const map = context as { [key: string]: unknown };
      const own = (key: unknown) => Object.prototype.hasOwnProperty.call(map, String(key));
      switch (property) {
        case 'get':
          return own(params[0]) ? map[String(params[0])] : JAVA_NULL;
        case 'containsKey':
          return own(params[0]);
        case 'size':
          return Object.keys(map).length;
        default:
          return Object.keys(map).length === 0;
      }
    },
  },
];

export function renderMappingTemplate(template: string, request: VtlRequest): VtlResult {
  const headers = request.headers ?? {};
  const querystring = request.querystring ?? {};
  const pathParams = request.path ?? {};
  let parsed: unknown;
  const body = () => {
    parsed ??= request.body === '' ? null : JSON.parse(request.body);
    return parsed;
  };
  const params = (name?: string) => {
    if (name === undefined) {
      return { path: javaMap(pathParams), querystring: javaMap(querystring), header: javaMap(headers) };
    }
    return pathParams[name] ?? querystring[name] ?? headers[name] ?? '';
  };
  const responseOverride = { status: undefined as number | undefined, header: {} };
  const context = {
    input: {
      body: request.body,
      path: (expression: string) => jsonPath(body(), expression),
      json: (expression: string) => JSON.stringify(jsonPath(body(), expression) ?? null),
      params,
    },
    util: {
      urlEncode: (text: unknown) => javaUrlEncode(String(text)),
      urlDecode: (text: unknown) => decodeURIComponent(String(text).replace(/\+/g, ' ')),
      escapeJavaScript: (text: unknown) => escapeJavaScript(String(text)),
      parseJson: (text: unknown): unknown => JSON.parse(String(text)),
    },
    context: {
      requestId: request.requestId ?? 'request-id-0001',
      identity: { apiKeyId: request.apiKeyId ?? '' },
      responseOverride,
    },
  };
  const output = render(template, context, undefined, { customMethodHandlers: JAVA_METHODS, env: 'development' });
  return {
    output,
    statusOverride: responseOverride.status === undefined ? undefined : Number(responseOverride.status),
  };
}
