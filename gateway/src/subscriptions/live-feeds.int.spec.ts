import { connectNats, listenFirst, onNatsReconnect, type Nats } from '@happyride/eventstore';
import { ensureNatsServer } from '@happyride/local-servers';
import { createLogger } from '@happyride/platform';
import type { ExecutionResult } from 'graphql';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { LiveFeeds, type Followed, type OfferQueries } from './live-feeds.ts';

/**
 * The live feeds against a real nats-server: notices are real core NATS messages; the read
 * through the graph is a function over an in-test "read model" (what the gateway's read does is
 * tested end to end in tests/e2e).
 */
const logger = createLogger('live-feeds-test', 'silent');
let nats: Nats;
let publisher: Nats;

beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'live-feeds-test');
  publisher = await connectNats(inject('natsUrl'), 'live-feeds-test-publisher');
});
afterAll(async () => {
  await nats?.close();
  await publisher?.close();
});

interface Context {
  who: string;
}

/** A read model of one trip, and a read function over it that counts its calls. */
function tripModel(nats: Nats) {
  const model = { state: 'CREATED', reads: 0, beforeRead: undefined as (() => Promise<void>) | undefined };
  const feeds = new LiveFeeds<Context>({
    source: { listen: (subject, onNotice) => listenFirst(nats, subject, onNotice) },
    read: async () => {
      model.reads++;
      const state = model.state;
      const hook = model.beforeRead;
      model.beforeRead = undefined;
      await hook?.();
      return { data: { trip: { state } } };
    },
    logger,
    retryDelaysMs: [10, 10],
  });
  return { model, feeds };
}

/** Consumes a subscription's updates; `until` waits for a payload matching, failing on timeout. */
function consume(followed: Followed) {
  const payloads: ExecutionResult[] = [];
  let failure: unknown;
  void (async () => {
    try {
      for await (const payload of followed.updates) payloads.push(payload);
    } catch (error) {
      failure = error;
    }
  })();
  return {
    payloads,
    get failure() {
      return failure as { message: string; extensions: Record<string, unknown> } | undefined;
    },
    async until(ok: () => boolean, what: string, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(payloads)}, failure ${String(failure)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    states: () => payloads.map((p) => (p.data as { trip: { state: string } }).trip.state),
  };
}

const notify = async (subject: string) => {
  publisher.connection.publish(subject, JSON.stringify({ version: 1 }));
  await publisher.connection.flush();
};

describe('live feeds: one payload per trip', () => {
  it('given a change that lands while the first payload is being read, when its notice is published, then the new state is pushed (listen first)', async () => {
    const { model, feeds } = tripModel(nats);
    const subject = `updates.trip.t-${randomUUID()}`;
    // The first read sees CREATED, and the change to CONFIRMED lands (and is announced) before it returns.
    model.beforeRead = async () => {
      model.state = 'CONFIRMED';
      await notify(subject);
    };

    const followed = await feeds.followQuery('k', subject, { who: 'p1' });
    const feed = consume(followed);

    await feed.until(() => feed.states().includes('CONFIRMED'), 'CONFIRMED');
    // The first payload is the read that raced the change, or already the read its notice caused.
    expect([['CREATED', 'CONFIRMED'], ['CONFIRMED']]).toContainEqual(feed.states());
    expect(followed.first.data).toEqual({ trip: { state: feed.states()[0] } });
    await followed.updates.return();
  });

  it('given a notice that changes nothing, then the same state is not pushed again', async () => {
    const { model, feeds } = tripModel(nats);
    const subject = `updates.trip.t-${randomUUID()}`;
    const feed = consume(await feeds.followQuery('k', subject, { who: 'p1' }));
    await feed.until(() => feed.payloads.length === 1, 'the first payload');

    await notify(subject); // nothing changed
    await feed.until(() => model.reads === 2, 'the read of the notice');
    model.state = 'CANCELLED';
    await notify(subject);

    await feed.until(() => feed.states().includes('CANCELLED'), 'CANCELLED');
    expect(feed.states()).toEqual(['CREATED', 'CANCELLED']);
  });

  it('given 50 identical subscriptions, when notices arrive, then each notice costs one read and every subscriber gets the change', async () => {
    const { model, feeds } = tripModel(nats);
    const subject = `updates.trip.t-${randomUUID()}`;
    const followers = await Promise.all(Array.from({ length: 50 }, async () => consume(await feeds.followQuery('same', subject, { who: 'p1' }))));
    const readsAfterSubscribing = model.reads;

    for (const state of ['CONFIRMED', 'DISPATCHING', 'CANCELLED']) {
      model.state = state;
      await notify(subject);
      for (const follower of followers) await follower.until(() => follower.states().at(-1) === state, state);
    }

    expect(readsAfterSubscribing).toBe(1);
    expect(model.reads - readsAfterSubscribing).toBeLessThanOrEqual(3);
    expect(feeds.reads).toBe(model.reads);
    expect(feeds.feeds).toBe(1);
    expect(feeds.subscribers).toBe(50);
  });

  it('given a feed whose reads start failing, then after the retries every subscriber gets an error with a code', async () => {
    const subject = `updates.trip.t-${randomUUID()}`;
    let failing = false;
    const feeds = new LiveFeeds<Context>({
      source: { listen: (s, onNotice) => listenFirst(nats, s, onNotice) },
      read: async () => (failing ? { errors: [{ message: 'trip-queries is down', extensions: { code: 'SERVICE_UNAVAILABLE' } }] as never } : { data: { trip: { state: 'CREATED' } } }),
      logger,
      retryDelaysMs: [10, 10],
    });
    const feed = consume(await feeds.followQuery('k', subject, { who: 'p1' }));

    failing = true;
    await notify(subject);

    await feed.until(() => feed.failure !== undefined, 'the failure');
    expect(feed.failure?.extensions['code']).toBe('SERVICE_UNAVAILABLE');
    expect(feeds.feeds).toBe(0);
  });
});

describe('live feeds: offers', () => {
  /** A driver's offers by trip; reads of one offer may be made to fail. */
  function offersModel() {
    const model = { offers: new Map<string, string>(), failOne: false, reads: 0 };
    type OfferContext = Context & { tripId?: string };
    const queries: OfferQueries<OfferContext> = {
      list: (c) => c,
      one: (c, tripId) => ({ ...c, tripId }),
      tripIdsOf: (result) => ((result.data?.['offers'] ?? []) as Array<{ tripId: string }>).map((offer) => offer.tripId),
      offerOf: (result) => (result.data?.['offer'] ? result : null),
    };
    const feeds = new LiveFeeds<OfferContext>({
      source: { listen: (subject, onNotice) => listenFirst(nats, subject, onNotice) },
      read: async (context) => {
        model.reads++;
        if (!context.tripId) return { data: { offers: [...model.offers].filter(([, s]) => s === 'OPEN').map(([tripId, status]) => ({ tripId, status })) } };
        if (model.failOne) throw new Error('connect ECONNREFUSED 127.0.0.1:4005');
        const status = model.offers.get(context.tripId);
        return { data: { offer: status ? { tripId: context.tripId, status } : null } };
      },
      logger,
      retryDelaysMs: [10, 10],
    });
    return { model, feeds, queries };
  }
  const statuses = (payloads: ExecutionResult[]) => payloads.map((p) => (p.data as { offer: { tripId: string; status: string } }).offer);

  it('given open offers, when a driver subscribes and an offer changes, then the open ones come first, then the change', async () => {
    const { model, feeds, queries } = offersModel();
    const subject = `updates.offers.d-${randomUUID()}`;
    model.offers.set('t1', 'OPEN');
    const feed = consume(await feeds.followOffers('k', subject, { who: 'd1' }, queries));
    await feed.until(() => feed.payloads.length === 1, 'the open offer');

    model.offers.set('t1', 'TAKEN');
    publisher.connection.publish(subject, JSON.stringify({ tripId: 't1', driverId: 'd1', status: 'TAKEN' }));

    await feed.until(() => feed.payloads.length === 2, 'the change');
    expect(statuses(feed.payloads)).toEqual([
      { tripId: 't1', status: 'OPEN' },
      { tripId: 't1', status: 'TAKEN' },
    ]);
  });

  it('given an offer read that keeps failing, then the driver gets an error with a code, not silence', async () => {
    const { model, feeds, queries } = offersModel();
    const subject = `updates.offers.d-${randomUUID()}`;
    const feed = consume(await feeds.followOffers('k', subject, { who: 'd1' }, queries));

    model.failOne = true;
    model.offers.set('t2', 'OPEN');
    publisher.connection.publish(subject, JSON.stringify({ tripId: 't2', driverId: 'd1', status: 'OPEN' }));

    await feed.until(() => feed.failure !== undefined, 'the failure');
    expect(feed.failure?.extensions['code']).toBe('SERVICE_UNAVAILABLE');
    expect(feed.failure?.message).toContain('ECONNREFUSED');
    expect(model.reads).toBe(1 + 3); // the list, then one offer read and its two retries
  });
});

describe('live feeds across a nats-server restart', () => {
  let server: ChildProcess | undefined;
  let dir: string;
  let port: number;

  const startServer = async () => {
    server = spawn(await ensureNatsServer(() => {}), ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
  };
  const stopServer = async () => {
    const running = server;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'live-feeds-nats-'));
    port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    await startServer();
  }, 120_000);
  afterAll(async () => {
    await stopServer();
    rmSync(dir, { recursive: true, force: true });
  });

  it('given a subscriber, when nats-server dies, the trip changes meanwhile (its notice lost) and the server comes back, then the subscriber gets the new state', async () => {
    const url = `nats://127.0.0.1:${port}`;
    let gatewaySide: Nats | undefined;
    for (let attempt = 0; !gatewaySide; attempt++) {
      gatewaySide = await connectNats(url, 'live-feeds-restart').catch(async (error: unknown) => {
        if (attempt > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return undefined;
      });
    }
    try {
      const { model, feeds } = tripModel(gatewaySide);
      const stopWatching = onNatsReconnect(gatewaySide, () => feeds.refreshAll());
      const feed = consume(await feeds.followQuery('k', `updates.trip.t-${randomUUID()}`, { who: 'p1' }));
      await feed.until(() => feed.payloads.length === 1, 'the first payload');

      const statuses = gatewaySide.connection.status()[Symbol.asyncIterator]();
      await stopServer();
      for (let s = await statuses.next(); !s.done && s.value.type !== 'disconnect'; s = await statuses.next());
      model.state = 'CANCELLED'; // its notice went nowhere
      await startServer();

      await feed.until(() => feed.states().includes('CANCELLED'), 'CANCELLED after the reconnect', 30_000);
      expect(feed.states()).toEqual(['CREATED', 'CANCELLED']);
      stopWatching();
      await statuses.return?.();
    } finally {
      await gatewaySide.close();
    }
  }, 60_000);
});
