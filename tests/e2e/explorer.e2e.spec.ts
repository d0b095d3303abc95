import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats } from '@happyride/eventstore';
import { startGateway } from '@happyride/gateway/server';
import { createLogger, DEV_JWT_SECRET, tokenVerifier } from '@happyride/platform';
import { readFileSync } from 'node:fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { dispatchActors } from '../support/dispatch.ts';
import { startTestSystem } from '../support/system.ts';
import { natsUrl } from '../support/own-event-log.ts';

/**
 * The self-hosted GraphiQL at `/graphiql`, driven in Debian's headless Chromium (never a
 * downloaded browser). `.ci/run` installs `chromium`; outside CI, without it, this file skips.
 */
const CHROMIUM = '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && !process.env.CI;
if (skip) {
  console.warn(
    `explorer.e2e.spec.ts skipped: ${CHROMIUM} is absent. Install it with ` +
      '`apt-get install -y --no-install-recommends chromium` (.ci/run does; in CI this test runs and fails without it).',
  );
}

const here = { lng: 116.3975, lat: 39.9087 };
const there = { lng: 116.4066, lat: 39.8822 };
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

describe.skipIf(skip)('GraphiQL served by the gateway at /graphiql', () => {
  let system: Awaited<ReturnType<typeof startTestSystem>>;
  let gql: ReturnType<typeof graphqlClient>;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const requested: string[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const screenshotDir = join(tmpdir(), 'happyride-e2e');

  beforeAll(async () => {
    system = await startTestSystem();
    gql = graphqlClient(system.gatewayUrl);
    userDataDir = mkdtempSync(join(tmpdir(), 'happyride-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    // Every request the page makes, WebSockets included: none may leave this machine.
    page.on('request', (request) => void requested.push(request.url()));
    page.on('websocket', (socket) => void requested.push(socket.url()));
    page.on('pageerror', (error) => void pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
  });
  afterAll(async () => {
    // The page as the test left it (passing or not), to look at.
    if (page) {
      mkdirSync(screenshotDir, { recursive: true });
      await page.screenshot({ path: join(screenshotDir, 'graphiql.png') }).catch(() => undefined);
    }
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await system?.stop();
  });

  const origin = () => new URL(system.gatewayUrl).origin;

  /** The text of a CodeMirror editor in the page (the query editor or the result pane). */
  const editorText = (selector: string): Promise<string> =>
    page.evaluate(`document.querySelector(${JSON.stringify(`${selector} .CodeMirror`)})?.CodeMirror?.getValue() ?? ''`);
  const resultText = () => editorText('.result-window');
  /** The texts of every CodeMirror editor in the page (query, variables, headers, result). */
  const allEditorTexts = (): Promise<string[]> =>
    page.evaluate(`[...document.querySelectorAll('.CodeMirror')].map((element) => element.CodeMirror?.getValue() ?? '')`);

  /** Types an operation into the query editor (select all, then type over it). */
  async function typeOperation(text: string) {
    await page.locator('.graphiql-query-editor .CodeMirror').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    // insertText types the text as one input: no auto-closed brackets or autocomplete picks.
    await page.keyboard.insertText(text);
    expect(await editorText('.graphiql-query-editor')).toBe(text);
  }

  async function run() {
    await page.locator('.graphiql-execute-button').click();
  }

  /** Waits until the result pane satisfies `ok`; returns its text. */
  async function resultUntil(ok: (text: string) => boolean, timeoutMs = 15_000) {
    const text = await eventually(resultText, ok, timeoutMs);
    expect(ok(text), `result pane:\n${text}`).toBe(true);
    return text;
  }

  it('given a passenger token in the headers editor, when running a mutation, a query and a subscription, then each result shows, all over this host only', async () => {
    // As a newcomer sees it: an explanatory query and a token placeholder in the headers.
    expect((await page.goto(`${origin()}/graphiql`))?.status()).toBe(200);
    await page.locator('.graphiql-query-editor .CodeMirror').waitFor({ timeout: 20_000 });
    expect(await editorText('.graphiql-query-editor')).toMatch(/^# Happyride Graph explorer/);
    expect((await allEditorTexts()).join('\n')).toContain('"Authorization": "Bearer <paste a token: npm run token -- --role passenger --sub p1>"');
    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: join(screenshotDir, 'graphiql-start.png') });

    const passengerId = `p-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor('passenger', passengerId);

    // The page, with the passenger's token in the headers editor (GraphiQL's `headers` URL parameter).
    const headers = JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2);
    const response = await page.goto(`${origin()}/graphiql?headers=${encodeURIComponent(headers)}`);
    expect(response?.status()).toBe(200);
    await page.locator('.graphiql-query-editor .CodeMirror').waitFor({ timeout: 20_000 });
    await page.locator('.graphiql-execute-button').waitFor();

    // A mutation over HTTP POST, with the token from the headers editor.
    await typeOperation('mutation { registerPassenger(input: { name: "Ada" }) { id name } }');
    await run();
    await resultUntil((text) => text.includes('"registerPassenger"'));
    expect(JSON.parse(await resultText())).toEqual({ data: { registerPassenger: { id: passengerId, name: 'Ada' } } });

    // A query; the read model is eventually consistent, so run again until it shows.
    await typeOperation(`{ passenger(id: "${passengerId}") { name } }`);
    await eventually(
      async () => {
        await run();
        await eventually(resultText, (text) => text.includes('"passenger"'), 5_000);
        return resultText();
      },
      (text) => text.includes('"Ada"'),
      15_000,
    );
    expect(JSON.parse(await resultText())).toEqual({ data: { passenger: { name: 'Ada' } } });

    // A subscription over graphql-ws: the trip now (CREATED, CONFIRMED once the creation saga
    // got to it, or DISPATCHING: a driver nearby keeps it open), then each change (CANCELLED).
    await dispatchActors(system.gatewayUrl).onlineDriver(here);
    const trip = await gql<{ requestTrip: { id: string } }>(
      'mutation ($s: PositionInput!, $e: PositionInput!) { requestTrip(input: { start: $s, end: $e }) { id } }',
      { token, variables: { s: here, e: there } },
    );
    const tripId = trip.data!.requestTrip.id;
    const visible = await eventually(
      () => gql<{ trip: { id: string } | null }>('query ($t: ID!) { trip(id: $t) { id } }', { token, variables: { t: tripId } }),
      (r) => Boolean(r.data?.trip),
      15_000,
    );
    expect(visible.data?.trip, 'the trip never became visible through trip-queries (is the trip projector running?)').toBeTruthy();

    await typeOperation(`subscription {\n  tripUpdates(tripId: "${tripId}") {\n    id\n    state\n  }\n}`);
    await run();
    await resultUntil((text) => /"(CREATED|CONFIRMED|DISPATCHING)"/.test(text));
    expect(JSON.parse(await resultText())).toEqual({ data: { tripUpdates: { id: tripId, state: expect.stringMatching(/^(CREATED|CONFIRMED|DISPATCHING)$/) } } });

    const cancelled = await gql('mutation ($t: ID!) { cancelTrip(input: { tripId: $t, reason: "changed my mind" }) { id } }', {
      token,
      variables: { t: tripId },
    });
    expect(cancelled.errors).toBeUndefined();
    await resultUntil((text) => text.includes('"CANCELLED"'));
    expect(JSON.parse(await resultText())).toEqual({ data: { tripUpdates: { id: tripId, state: 'CANCELLED' } } });

    // Nothing left the machine: every request (assets, /graphql, the WebSocket) went to this host.
    const remote = requested.filter((url) => {
      const parsed = new URL(url);
      if (parsed.protocol === 'data:' || parsed.protocol === 'blob:') return false;
      return !LOCAL_HOSTS.has(parsed.hostname);
    });
    expect(remote).toEqual([]);
    expect(requested.some((url) => url.startsWith(`${origin()}/graphiql/assets/graphiql.min.js`))).toBe(true);
    expect(requested.some((url) => url.startsWith(origin().replace(/^http/, 'ws')))).toBe(true);
    expect(pageErrors).toEqual([]);
    expect(consoleErrors.filter((text) => /Content Security Policy|Refused to/i.test(text))).toEqual([]);
  });

  it('serves only the listed asset files, and the page with a policy that keeps it on this host', async () => {
    const page = await fetch(`${origin()}/graphiql`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    for (const asset of ['react.production.min.js', 'react-dom.production.min.js', 'graphiql.min.js', 'graphiql.min.css', 'graphql-ws.min.js']) {
      expect((await fetch(`${origin()}/graphiql/assets/${asset}`)).status, asset).toBe(200);
    }
    for (const other of ['package.json', '..%2Fpackage.json', 'index.js']) {
      expect((await fetch(`${origin()}/graphiql/assets/${other}`)).status, other).toBe(404);
    }
  });

  it('given GRAPHIQL=off and APOLLO_SANDBOX=off, then /graphiql answers 404 and GET /graphql has no landing page', async () => {
    const nats = await connectNats(natsUrl(), 'explorer-test');
    const subgraphUrls = Object.fromEntries(Object.entries(system.urls).map(([name, url]) => [name, `${url}/graphql`]));
    const logger = createLogger('gateway-test', 'silent');
    const options = {
      port: 0,
      supergraphSdl: readFileSync(new URL('../../schema/supergraph.graphql', import.meta.url), 'utf8'),
      subgraphUrls,
      verify: tokenVerifier({ jwtSecret: process.env.JWT_SECRET ?? DEV_JWT_SECRET, usesDevSecret: false }),
      nats,
      logger,
      limits: { maxDepth: 8, maxAliases: 15, maxTokens: 1000, maxCost: 5000 },
      rateLimit: { perMinute: 0, burst: 1 },
      maxBodyBytes: 1_000_000,
    };
    const off = await startGateway({ ...options, graphiql: false, apolloSandbox: false });
    const on = await startGateway(options);
    try {
      const html = { accept: 'text/html' };
      expect((await fetch(new URL('/graphiql', off.url))).status).toBe(404);
      expect((await fetch(new URL('/graphiql/assets/graphiql.min.js', off.url))).status).toBe(404);
      expect(await (await fetch(off.url, { headers: html })).text()).not.toMatch(/sandbox/i);
      expect((await fetch(new URL('/graphiql', on.url))).status).toBe(200);
      expect(await (await fetch(on.url, { headers: html })).text()).toMatch(/sandbox/i);
    } finally {
      await off.stop();
      await on.stop();
      await nats.close();
    }
  });
});
