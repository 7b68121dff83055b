import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserContext, chromium, Locator, Page } from 'playwright-core';
import { ACME, ADMIN_KEY, eventually, GLOBEX } from './support/app';
import { useHarness } from './support/harness';
import { readCounter } from './support/service-process';

/**
 * The web console in a real browser (Debian's chromium driven by playwright-core) against a real service process
 * (dist/main.js with every role: private redis-server, fauxqs, the MongoDB test server). Each test goes on from the
 * one before, as a person would: a producer uploads, an admin looks at what happened.
 *
 * CONSOLE_SCREENSHOTS=<dir> keeps a screenshot of each screen there (docs/console holds the committed ones).
 */
const CHROMIUM = '/usr/bin/chromium';
const BROWSER_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
/** Messages in the responsiveness check: the target (10,000 from one file). */
const LARGE_UPLOAD = 10_000;
/** The longest main-thread task allowed while they are parsed and validated (a long task is one over 50 ms). */
const LONGEST_TASK_MS = 200;

const run = Date.now().toString(36);
/** The data of the upload's first line, exactly as the file holds it. */
const UPLOADED_DATA = '{"n": 0, "big": 12345678901234567890123, "price": 1.50}';
const key = (name: string) => `wh-console-${run}-${name}`;

describe('the web console (GET /console)', () => {
  const harness = useHarness({
    mongo: true,
    services: ['all'],
    // LOG_LEVEL info: the harness learns a process's port from its "listening on port" line.
    env: { LOG_LEVEL: 'info', DEAD_LETTER_SWEEP_SECONDS: '1', ARCHIVE_CRON: '0 0 1 1 *' },
  });
  const url = () => harness().services[0].url;

  let context: BrowserContext;
  let userDataDir: string;
  /** Every URL the browser asked for, to prove nothing left the service's origin. */
  const requested: string[] = [];
  let producerPage: Page;
  let adminPage: Page;

  beforeAll(async () => {
    userDataDir = mkdtempSync(join(tmpdir(), 'console-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: BROWSER_ARGS,
      viewport: { width: 1200, height: 900 },
    });
    context.on('request', (request) => requested.push(request.url()));
  });

  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  async function post(apiKey: string, body: object): Promise<string> {
    const answer = await fetch(`${url()}/v1/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify(body),
    });
    expect(answer.status).toBe(202);
    return ((await answer.json()) as { messageId: string }).messageId;
  }

  async function statusOf(messageId: string, apiKey: string): Promise<string> {
    return eventually(async () => {
      const answer = await fetch(`${url()}/v1/records/${messageId}`, { headers: { 'x-api-key': apiKey } });
      return answer.status === 200 ? ((await answer.json()) as { status: string }).status : undefined;
    });
  }

  /** The exact text of a key's `data`, once the worker has stored it. */
  async function readData(webhookKey: string): Promise<string> {
    return eventually(async () => {
      const answer = await fetch(`${url()}/v1/data`, { headers: { 'x-webhook-key': webhookKey } });
      if (answer.status !== 200) return undefined;
      const text = await answer.text();
      return text.slice(text.indexOf(',"data":') + ',"data":'.length, text.lastIndexOf(',"version":'));
    });
  }

  /** Waits until the locator's text matches; fails with the last text seen. */
  async function textOf(locator: Locator, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    let last = '';
    return eventually(
      async () => {
        last = (await locator.first().textContent({ timeout: 1000 })) ?? '';
        return pattern.test(last) ? last : undefined;
      },
      timeoutMs,
      `text ${pattern} (last seen: ${JSON.stringify(last.slice(0, 300))})`,
    );
  }

  async function signIn(apiKey: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${url()}/console`);
    await page.getByLabel(/API key/).fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await textOf(page.getByTestId('signed-in-as'), /signed in/);
    return page;
  }

  async function openScreen(page: Page, name: string): Promise<void> {
    await page.getByRole('navigation').getByRole('button', { name }).click();
  }

  /** axe-core in the page (evaluated through the DevTools protocol, which the page's CSP does not govern). */
  async function expectAccessible(page: Page, screen: string): Promise<void> {
    const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    await page.evaluate(axeSource);
    // Page-side code as text: the suite compiles without the DOM's types.
    const violations = await page.evaluate<Array<{ id: string; impact: string; nodes: number }>>(
      'axe.run().then((result) => result.violations.map(({ id, impact, nodes }) => ({ id, impact, nodes: nodes.length })))',
    );
    expect({ screen, serious: violations.filter((found) => ['serious', 'critical'].includes(found.impact)) }).toEqual({
      screen,
      serious: [],
    });
    const directory = process.env.CONSOLE_SCREENSHOTS;
    if (directory) {
      mkdirSync(directory, { recursive: true });
      await page.screenshot({ path: join(directory, `${screen}.png`), fullPage: true });
    }
  }

  it('serves the page and its files with a Content-Security-Policy that allows nothing external', async () => {
    for (const path of ['/console', '/console/console.js', '/console/upload-worker.js', '/console/console.css']) {
      const answer = await fetch(`${url()}${path}`);
      expect([path, answer.status]).toEqual([path, 200]);
      const policy = answer.headers.get('content-security-policy') ?? '';
      expect(policy).toContain("default-src 'none'");
      expect(policy).toContain("script-src 'self'");
      expect(policy).toContain("connect-src 'self'");
      expect(policy).not.toMatch(/https?:|\*|unsafe-inline|unsafe-eval/);
    }
    const page = await fetch(`${url()}/console`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    // What the browser loads comes gzipped (the build writes the .gz files).
    const script = await fetch(`${url()}/console/console.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(script.headers.get('content-encoding')).toBe('gzip');
    const missing = await fetch(`${url()}/console/no-such-file.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('is served only by processes with the admin role', async () => {
    const query = await harness().spawnService({ APP_ROLES: 'query' });
    expect((await fetch(`${query.url}/console`)).status).toBe(404);
    expect((await fetch(`${query.url}/console/console.js`)).status).toBe(404);
  });

  it('refuses an unknown key and shows a producer only the upload screen', async () => {
    const page = await context.newPage();
    await page.goto(`${url()}/console`);
    await page.getByLabel(/API key/).waitFor();
    // The first load, for docs/operations.md: bytes over the wire (gzipped, headers included) and time to load.
    const firstLoad = await page.evaluate<{ bytes: number; files: number; loadedMs: number }>(`(() => {
      const navigation = performance.getEntriesByType('navigation')[0];
      const files = performance.getEntriesByType('resource').filter((entry) => entry.name.includes('/console/'));
      const bytes = [navigation, ...files].reduce((sum, entry) => sum + entry.transferSize, 0);
      return { bytes, files: files.length + 1, loadedMs: Math.round(navigation.loadEventEnd) };
    })()`);
    process.stdout.write(
      `console: first load ${firstLoad.files} files, ${firstLoad.bytes} bytes transferred, load event at ${firstLoad.loadedMs} ms\n`,
    );
    expect(firstLoad.bytes).toBeLessThan(150 * 1024);
    await expectAccessible(page, 'sign-in');
    await page.getByLabel(/API key/).fill('not-a-key-of-this-service');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await textOf(page.getByRole('alert'), /not known/);
    await page.close();

    producerPage = await signIn(ACME.apiKey);
    expect(await producerPage.getByTestId('signed-in-as').textContent()).toContain('producer');
    const screens = await producerPage.getByRole('navigation').getByRole('button').allTextContents();
    expect(screens).toEqual(['Upload']);
    // The key is in sessionStorage only: not in the URL, not in a cookie.
    expect(producerPage.url()).not.toContain(ACME.apiKey);
    expect(await context.cookies()).toEqual([]);
    expect(await producerPage.evaluate('Object.values(sessionStorage)')).toEqual([ACME.apiKey]);
  });

  it('uploads an NDJSON file: checks it in the browser, sends it, shows each result, retries a fixed one', async () => {
    const page = producerPage;
    const lines = Array.from({ length: 197 }, (_, index) =>
      JSON.stringify({
        accountId: ACME.accountId,
        flowId: 'upload',
        webhookKeys: [key(`u${index}`)],
        data: { n: index },
      }),
    );
    // Sent as the file has it: a number no double holds, and spacing, reach the store unchanged (checked below).
    lines[0] = `{"accountId":"acme","flowId":"upload","webhookKeys":["${key('u0')}"],"data":${UPLOADED_DATA}}`;
    // Refused in the browser by the schema: a webhook key shorter than 8 characters.
    lines.splice(
      50,
      0,
      JSON.stringify({ accountId: ACME.accountId, flowId: 'upload', webhookKeys: ['short'], data: 1 }),
    );
    // Valid JSON and valid per field, refused by the service (400 with details): `data` given twice.
    const duplicated = `{"accountId":"acme","flowId":"upload","webhookKeys":["${key('dup')}"],"data":1,"data":2}`;
    lines.splice(100, 0, duplicated);
    // Another account's message: the producer key is bound to acme (403).
    lines.splice(
      150,
      0,
      JSON.stringify({ accountId: GLOBEX.accountId, flowId: 'upload', webhookKeys: [key('g')], data: 1 }),
    );
    await textOf(page.getByTestId('schema-state'), /checked here against the JSON Schema/);
    await page.getByLabel(/Drop or choose/).setInputFiles({
      name: 'messages.ndjson',
      mimeType: 'application/x-ndjson',
      buffer: Buffer.from(lines.join('\n') + '\n'),
    });
    await textOf(page.getByTestId('upload-counts'), /^200 messages: 1 invalid, 0 accepted, 0 refused, 199 to send/);
    await textOf(page.locator('tr[data-state="invalid"]'), /line 51.*webhookKeys\.0/);

    await page.getByRole('button', { name: 'Send 199 messages' }).click();
    await textOf(
      page.getByTestId('upload-counts'),
      /200 messages: 1 invalid, 197 accepted, 2 refused, 0 to send/,
      30_000,
    );
    const refused = await page.locator('tr[data-state="failed"]').allTextContents();
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatch(/line 101.*400 .*data/);
    expect(refused[1]).toMatch(/line 151.*403/);
    await expectAccessible(page, 'upload');

    // Fix the duplicated field and send it again.
    await page.getByRole('button', { name: 'Edit line 101' }).click();
    await page.getByLabel('Edit line 101').fill(duplicated.replace(',"data":2', ''));
    await page.getByRole('button', { name: 'Check and keep' }).click();
    await page.getByRole('button', { name: 'Send 1 messages' }).click();
    await textOf(page.getByTestId('upload-counts'), /198 accepted, 1 refused/);

    // Each accepted message links to its status.
    await page.getByLabel('Show').selectOption('accepted');
    await page.getByRole('button', { name: 'Status of line 1', exact: true }).click();
    await textOf(page.getByTestId('message-status'), /applied · keys applied 1, stale 0, foreign 0|not decided/);
    await eventually(async () => {
      await page.getByRole('button', { name: 'Status of line 1', exact: true }).click();
      const text = await page.getByTestId('message-status').first().textContent();
      return text?.startsWith('applied') ? true : undefined;
    });

    // Pasted text: a JSON array, each item sent as its own text.
    const pasted = [
      `{"accountId":"acme","flowId":"upload","webhookKeys":["${key('pasted-1')}"],"data":[1.0, "a,]"]}`,
      `{"accountId":"acme","flowId":"upload","webhookKeys":["${key('pasted-2')}"],"op":"delete"}`,
    ];
    await page.getByLabel(/Or paste messages/).fill(`[\n${pasted.join(',\n')}\n]`);
    await page.getByRole('button', { name: 'Check pasted messages' }).click();
    await textOf(page.getByTestId('upload-counts'), /^2 messages: 0 invalid, 0 accepted, 0 refused, 2 to send/);
    await page.getByRole('button', { name: 'Send 2 messages' }).click();
    await textOf(page.getByTestId('upload-counts'), /^2 messages: 0 invalid, 2 accepted, 0 refused/);
    expect(await readData(key('pasted-1'))).toBe('[1.0, "a,]"]');
  });

  it('sends a retry after a lost answer with the same Idempotency-Key: the message is applied once', async () => {
    const page = producerPage;
    const stored = () => readCounter(url(), 'setgetapi_ingest_messages_total', { outcome: 'stored' });
    // Earlier uploads settled: the count holds still for a second.
    const before = await eventually(async () => {
      const first = await stored();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return (await stored()) === first ? first : undefined;
    });
    // The gateway takes the message, and its answer is lost on the way back.
    await page.route('**/v1/records', async (route) => {
      await route.fetch();
      await route.abort('failed');
    });
    const lostKey = key('lost-answer');
    await page
      .getByLabel(/Or paste messages/)
      .fill(JSON.stringify({ accountId: 'acme', flowId: 'lost', webhookKeys: [lostKey], data: 'once' }));
    await page.getByRole('button', { name: 'Check pasted messages' }).click();
    await textOf(page.getByTestId('upload-counts'), /^1 messages: 0 invalid, 0 accepted, 0 refused, 1 to send/);
    await page.getByRole('button', { name: 'Send 1 messages' }).click();
    await textOf(page.getByTestId('upload-counts'), /0 accepted, 1 refused/);
    await page.unroute('**/v1/records');
    await page.getByRole('button', { name: 'Retry 1 refused' }).click();
    await textOf(page.getByTestId('upload-counts'), /1 accepted, 0 refused/);
    expect(await readData(lostKey)).toBe('"once"');
    // A second copy would be right behind the first in its group.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect((await stored()) - before).toBe(1);

    // An edited message is another message: its own key, or SQS would drop it as a repeat of the lost one.
    await page.route('**/v1/records', async (route) => {
      await route.fetch();
      await route.abort('failed');
    });
    const editedKey = key('edited-after-lost-answer');
    const first = JSON.stringify({ accountId: 'acme', flowId: 'lost', webhookKeys: [editedKey], data: 'first' });
    await page.getByLabel(/Or paste messages/).fill(first);
    await page.getByRole('button', { name: 'Check pasted messages' }).click();
    await page.getByRole('button', { name: 'Send 1 messages' }).click();
    await textOf(page.getByTestId('upload-counts'), /0 accepted, 1 refused/);
    await page.unroute('**/v1/records');
    expect(await readData(editedKey)).toBe('"first"');
    await page.getByLabel('Show').selectOption('problems');
    await page.getByRole('button', { name: 'Edit item 1' }).click();
    await page.getByLabel('Edit item 1').fill(first.replace('"first"', '"edited"'));
    await page.getByRole('button', { name: 'Check and keep' }).click();
    await page.getByRole('button', { name: 'Send 1 messages' }).click();
    await textOf(page.getByTestId('upload-counts'), /1 accepted, 0 refused/);
    await eventually(async () => ((await readData(editedKey)) === '"edited"' ? true : undefined));
  });

  it(`parses and validates ${LARGE_UPLOAD} messages from one file without blocking the page`, async () => {
    const page = producerPage;
    await page.evaluate(`
      window.longTasks = [];
      new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((entry) => entry.duration)))
        .observe({ type: 'longtask' });
    `);
    const lines = Array.from({ length: LARGE_UPLOAD }, (_, index) =>
      JSON.stringify({
        accountId: ACME.accountId,
        flowId: 'large',
        webhookKeys: [key(`large-${index}`), key(`large-${index}-b`)],
        data: { index, text: 'x'.repeat(100), nested: { list: [1, 2, 3], flag: true } },
        version: index,
      }),
    );
    // From a file on disk: a buffer would be decoded into a File by script in the page, a long task of the test's own.
    const file = join(userDataDir, 'large.ndjson');
    writeFileSync(file, lines.join('\n'));
    const started = Date.now();
    await page.getByLabel(/Drop or choose/).setInputFiles(file);
    await textOf(page.getByTestId('upload-counts'), new RegExp(`^${LARGE_UPLOAD} messages: 0 invalid`), 60_000);
    const elapsed = Date.now() - started;
    const longTasks = await page.evaluate<number[]>('window.longTasks');
    const longest = Math.max(0, ...longTasks);
    process.stdout.write(
      `console: ${LARGE_UPLOAD} messages checked in ${elapsed} ms; ${longTasks.length} long tasks, longest ${longest.toFixed(0)} ms\n`,
    );
    expect(longest).toBeLessThan(LONGEST_TASK_MS);
  });

  it('shows an admin every screen; a key looked up, watched live, with its countdown', async () => {
    adminPage = await signIn(ADMIN_KEY);
    const page = adminPage;
    const screens = await page.getByRole('navigation').getByRole('button').allTextContents();
    expect(screens).toEqual([
      'Upload',
      'Look up a key',
      'TTL policies',
      'Archive',
      'Dead letters and jobs',
      'Audit',
      'Live metrics',
    ]);
    await openScreen(page, 'Look up a key');
    await page.getByLabel('Webhook key', { exact: true }).fill(key('u0'));
    await page.getByRole('button', { name: 'Read' }).click();
    await textOf(page.getByTestId('lookup-data'), /"n": 0/);
    expect(await page.getByTestId('lookup-exact').textContent()).toBe(UPLOADED_DATA);
    // Indented for reading, with no value changed.
    expect(await page.getByTestId('lookup-data').textContent()).toBe(
      '{\n  "n": 0,\n  "big": 12345678901234567890123,\n  "price": 1.50\n}',
    );
    expect(await page.getByTestId('lookup-expires').textContent()).toMatch(/expires in 6d 23:5\d:\d\d/);
    await expectAccessible(page, 'lookup');

    await page.getByLabel(/Watch/).check();
    const watchState = page.getByRole('status');
    await textOf(watchState, /^Watching: 0 updates received$/);
    // Exact bytes survive: a number no double can hold.
    await post(ACME.apiKey, {
      accountId: ACME.accountId,
      flowId: 'upload',
      webhookKeys: [key('u0')],
      data: 1,
      version: 7,
    });
    const exact = `{"big":12345678901234567890123,"price":1.50}`;
    const response = await fetch(`${url()}/v1/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ACME.apiKey },
      body: `{"accountId":"acme","flowId":"upload","webhookKeys":["${key('u0')}"],"version":8,"data":${exact}}`,
    });
    expect(response.status).toBe(202);
    await textOf(page.getByTestId('lookup-version'), /^8$/);
    // One update per change (version 7 may be overtaken by 8), and no more while nothing changes: each read waits.
    const seen = await watchState.textContent();
    expect(seen).toMatch(/^Watching: [12] updates? received$/);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await watchState.textContent()).toBe(seen);
    expect(await page.getByTestId('lookup-exact').textContent()).toBe(exact);
    await page.getByLabel(/Watch/).uncheck();
  });

  it('edits TTL policies, shows the effective TTL, and a new write expiring in about 60 s; the audit shows it', async () => {
    const page = adminPage;
    await openScreen(page, 'TTL policies');
    await page.getByLabel('Account', { exact: true }).fill(ACME.accountId);
    await page.getByLabel(/^Flow/).fill('short-lived');
    await page.getByLabel(/TTL in seconds/).fill('600');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await textOf(page.locator('table'), /short-lived600 s/);
    // Edit it from the list.
    await page.getByRole('button', { name: 'Edit short-lived' }).click();
    await page.getByLabel(/TTL in seconds/).fill('60');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await textOf(page.locator('table'), /short-lived60 s/);
    await page.getByRole('button', { name: 'Effective TTL' }).click();
    await textOf(page.getByTestId('ttl-effective'), /60 s \(from the flow\)/);
    await expectAccessible(page, 'ttl-policies');

    const messageId = await post(ACME.apiKey, {
      accountId: ACME.accountId,
      flowId: 'short-lived',
      webhookKeys: [key('ttl')],
      data: 'expires soon',
    });
    expect(await statusOf(messageId, ACME.apiKey)).toBe('applied');
    await openScreen(page, 'Look up a key');
    await page.getByLabel('Webhook key', { exact: true }).fill(key('ttl'));
    await page.getByRole('button', { name: 'Read' }).click();
    await textOf(page.getByTestId('lookup-expires'), /expires in 00:00:[45]\d/);

    await openScreen(page, 'Audit');
    const audit = await textOf(page.locator('table'), /ttl-policy\.put/);
    expect(audit).toContain('/admin/ttl-policies/accounts/acme/flows/short-lived');
    expect(audit).toContain('"ttlSeconds":600');
    expect(audit).not.toContain(ADMIN_KEY);
    await expectAccessible(page, 'audit');
  });

  it('lists a dead letter, shows its body, redrives it and follows the job; the key becomes readable', async () => {
    const page = adminPage;
    const contested = key('contested');
    // acme owns the key; globex's message for it can never apply: dead-lettered (KEY_OWNED_BY_OTHER_ACCOUNT).
    expect(
      await statusOf(
        await post(ACME.apiKey, { accountId: 'acme', flowId: 'dl', webhookKeys: [contested], data: 'a' }),
        ACME.apiKey,
      ),
    ).toBe('applied');
    const globexMessage = await post(GLOBEX.apiKey, {
      accountId: 'globex',
      flowId: 'dl',
      webhookKeys: [contested],
      data: 'from globex',
    });
    expect(await statusOf(globexMessage, GLOBEX.apiKey)).toBe('dead-lettered');
    // acme lets the key go: a redrive can now apply globex's message.
    const released = await post(ACME.apiKey, {
      op: 'delete',
      accountId: 'acme',
      flowId: 'dl',
      webhookKeys: [contested],
    });
    expect(await statusOf(released, ACME.apiKey)).toBe('applied');

    await openScreen(page, 'Dead letters and jobs');
    await page.getByLabel('errorCode').fill('KEY_OWNED_BY_OTHER_ACCOUNT');
    await page.getByRole('button', { name: 'Search' }).click();
    await textOf(page.locator('table').first(), new RegExp(globexMessage));
    await page.getByRole('button', { name: `Inspect ${globexMessage.slice(0, 8)}` }).click();
    await textOf(page.getByTestId('dead-letter-body'), /from globex/);
    await expectAccessible(page, 'dead-letters');
    await page.getByLabel(`select ${globexMessage}`).check();
    await page.getByRole('button', { name: 'Redrive 1 selected' }).click();
    await textOf(page.getByTestId('followed-job'), /succeeded — total 1, redriven 1, missing 0/, 30_000);

    await openScreen(page, 'Look up a key');
    await page.getByLabel('Webhook key', { exact: true }).fill(contested);
    await eventually(async () => {
      await page.getByRole('button', { name: 'Read' }).click();
      const text = await page.getByTestId('lookup-data').textContent({ timeout: 1000 });
      return text?.includes('from globex') ? true : undefined;
    });
  });

  it('starts an archive run and sees it succeed, then restores with its counts', async () => {
    const page = adminPage;
    await openScreen(page, 'Archive');
    await page.getByRole('button', { name: 'Start an archive run' }).click();
    await textOf(page.getByTestId('run-status'), /^succeeded$/, 45_000);
    await page.getByLabel(/^Account/).fill(ACME.accountId);
    await page.getByRole('button', { name: 'Restore' }).click();
    await textOf(
      page.getByTestId('restore-counts'),
      /restored \d+, skippedExpired \d+, skippedNewer \d+, skippedDeleted \d+, policiesRestored \d+/,
    );
    await expectAccessible(page, 'archive');
  });

  it('charts the live metrics', async () => {
    const page = adminPage;
    await openScreen(page, 'Live metrics');
    await textOf(page.getByTestId('charts-samples'), /^[2-9]\d* samples/, 15_000);
    // Traffic while the charts run: the stored rate rises above zero, as does the lag, and reads give a p99.
    const keys = Array.from({ length: 20 }, (_, index) => key(`chart-${index}`));
    await Promise.all(
      keys.map((webhookKey) =>
        post(ACME.apiKey, { accountId: 'acme', flowId: 'charts', webhookKeys: [webhookKey], data: 1 }),
      ),
    );
    await Promise.all(
      keys.map((webhookKey) => fetch(`${url()}/v1/data`, { headers: { 'x-webhook-key': webhookKey } })),
    );
    const captions = page.locator('figcaption');
    await textOf(captions.filter({ hasText: 'Messages per second' }), /stored (0\.[1-9]|[1-9]\d*\.\d)\/s/, 20_000);
    await textOf(captions.filter({ hasText: 'Ingest lag' }), /lag \d+ ms/, 20_000);
    await textOf(captions.filter({ hasText: 'Query p99' }), /p99 ≤ \d+\.\d ms/, 20_000);
    await textOf(captions.filter({ hasText: 'Redis readiness' }), /redis up/);
    await expectAccessible(page, 'live-metrics');
  });

  it('sent no request anywhere but the service', () => {
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((address) => !address.startsWith(`${url()}/`))).toEqual([]);
  });
});
