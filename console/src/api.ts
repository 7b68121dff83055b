/** The API key lives in sessionStorage only: gone with the tab, never in a URL or a cookie. */
const KEY_ITEM = 'setgetapi.console.apiKey';

export type Role = 'admin' | 'producer';

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_ITEM);
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY_ITEM, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY_ITEM);
}

/** The contract's error body. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: Array<{ field: string; message: string }>;
}

export interface Answer<T> {
  status: number;
  ok: boolean;
  /** The parsed JSON body (null when there is none or it is not JSON). */
  body: T | null;
  /** The body exactly as received. */
  text: string;
  headers: Headers;
}

export interface CallOptions {
  /** A string is sent as it is (a message's own text); anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Sends no x-api-key (reads, metrics). */
  anonymous?: boolean;
}

/** One call to this service (same origin: the CSP allows nothing else). Network failures answer status 0. */
export async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  const key = storedKey();
  if (!options.anonymous && key !== null) headers['x-api-key'] = key;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  let response: Response;
  try {
    // no-store: the browser's cache would otherwise revalidate with its own If-None-Match, and a waiting read's
    // conditions must be exactly the console's.
    response = await fetch(path, {
      method,
      headers,
      body,
      signal: options.signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const failure: ErrorBody = { statusCode: 0, error: 'Network error', message };
    return { status: 0, ok: false, body: failure as T, text: message, headers: new Headers() };
  }
  const text = await response.text();
  let parsed: T | null = null;
  if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
    try {
      parsed = JSON.parse(text) as T;
    } catch {
      parsed = null;
    }
  }
  return { status: response.status, ok: response.ok, body: parsed, text, headers: response.headers };
}

/** "403 Forbidden: the key may not do this (field: problem; ...)" for an error answer. */
export function describeError(answer: Answer<unknown>): string {
  const body = answer.body as Partial<ErrorBody> | null;
  if (body === null || typeof body !== 'object' || typeof body.message !== 'string') {
    return `${answer.status} ${answer.text.slice(0, 200)}`;
  }
  const details = (body.details ?? []).map((detail) => `${detail.field}: ${detail.message}`).join('; ');
  return `${answer.status === 0 ? 'network' : answer.status} ${body.message}${details ? ` (${details})` : ''}`;
}

/** A key's role, or why it cannot sign in. */
export type SignInResult = { role: Role } | { problem: string };

/**
 * Which kind of key this is: an admin route answers 200 to an admin key, 403 to a producer key (known, wrong
 * kind) and 401 to an unknown one. GET /admin/audit changes nothing and exists on every admin process.
 */
export async function roleOf(key: string): Promise<SignInResult> {
  const answer = await call<unknown>('GET', '/admin/audit?limit=1', {
    headers: { 'x-api-key': key },
    anonymous: true,
  });
  if (answer.status === 200) return { role: 'admin' };
  if (answer.status === 403) return { role: 'producer' };
  if (answer.status === 401) return { problem: 'This key is not known to the service.' };
  return { problem: `The service answered ${describeError(answer)}` };
}
