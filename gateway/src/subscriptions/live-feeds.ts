import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Logger } from '@happyride/platform';

/** Where change notices come from (core NATS in the gateway: `listenFirst`). */
export interface NoticeSource {
  /** Listens on `subject`; resolves once a notice published from now on is sure to be heard. */
  listen(subject: string, onNotice: (notice: unknown) => void): Promise<() => void>;
}

export interface LiveFeedOptions<C> {
  source: NoticeSource;
  /** Reads a payload through the graph with a subscriber's context. */
  read: (context: C) => Promise<ExecutionResult>;
  logger: Logger;
  /** Waits between the attempts of a read that fails after the first payload; then the subscribers get an `error`. */
  retryDelaysMs?: readonly number[];
}

/** A subscription: its first payload (an `errors` one means refused) and the later ones. */
export interface Followed {
  first: ExecutionResult;
  updates: AsyncIterableIterator<ExecutionResult> & { return(): Promise<IteratorResult<ExecutionResult>> };
}

const DEFAULT_RETRY_DELAYS_MS = [250, 1_000, 4_000] as const;
/** Per subscriber: how many payload keys (offers) it remembers having sent, to skip repeats. */
const REMEMBERED_KEYS = 256;
/** Per shared offers feed: the trips re-read after a NATS reconnect besides the open ones. */
const RECENT_TRIPS = 50;

/**
 * Keeps what one subscriber has not been sent yet: the latest payload per key (a trip, an
 * offer), never a queue (a slow client costs one payload per key), and what it was last sent,
 * so the same state is never pushed twice.
 */
class Outbox {
  readonly #pending = new Map<string, { result: ExecutionResult; serialized: string }>();
  readonly #sent = new Map<string, string>();
  #failure: GraphQLError | undefined;
  #wake: (() => void) | undefined;

  /** Queues `result` for `key` unless it is what the subscriber has already. */
  offer(key: string, result: ExecutionResult, serialized: string, { onlyIfUnknown = false } = {}): void {
    if (onlyIfUnknown && (this.#pending.has(key) || this.#sent.has(key))) return;
    this.#pending.delete(key);
    if (this.#sent.get(key) !== serialized) this.#pending.set(key, { result, serialized });
    this.#signal();
  }

  fail(error: GraphQLError): void {
    this.#failure ??= error;
    this.#signal();
  }

  /** The next payload to send; waits for one; throws the failure once nothing else is pending. */
  async take(isOpen: () => boolean): Promise<ExecutionResult | undefined> {
    for (;;) {
      if (!isOpen()) return undefined;
      const next = this.#pending.entries().next();
      if (!next.done) {
        const [key, { result, serialized }] = next.value;
        this.#pending.delete(key);
        this.#remember(key, serialized);
        return result;
      }
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Ends a pending `take` (it answers undefined once `isOpen` says so). */
  wake(): void {
    this.#signal();
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #remember(key: string, serialized: string): void {
    this.#sent.delete(key);
    this.#sent.set(key, serialized);
    if (this.#sent.size > REMEMBERED_KEYS) this.#sent.delete(this.#sent.keys().next().value!);
  }
}

interface Member<C> {
  context: C;
  outbox: Outbox;
  open: boolean;
}

/** The subscriber's side of a shared feed as the async iterator graphql-ws consumes. */
function updatesOf<C>(member: Member<C>, leave: () => void): Followed['updates'] {
  const end = async (): Promise<IteratorResult<ExecutionResult>> => {
    if (member.open) {
      member.open = false;
      leave();
      member.outbox.wake();
    }
    return { done: true, value: undefined };
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      try {
        const value = await member.outbox.take(() => member.open);
        return value === undefined ? end() : { done: false, value };
      } catch (error) {
        await end();
        throw error;
      }
    },
    return: end,
  };
}

/** The errors of a result that failed, as one GraphQLError carrying the first code. */
function failureOf(cause: unknown, result?: ExecutionResult): GraphQLError {
  const first = result?.errors?.[0];
  if (first) return new GraphQLError(`The live update could not be read: ${first.message}`, { extensions: { ...first.extensions, code: first.extensions?.['code'] ?? 'SERVICE_UNAVAILABLE' } });
  const message = cause instanceof Error ? cause.message : String(cause);
  return new GraphQLError(`The live update could not be read: ${message}`, { extensions: { code: 'SERVICE_UNAVAILABLE' } });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

abstract class SharedFeed<C> {
  readonly members = new Set<Member<C>>();
  ready!: Promise<void>;
  #unlisten: (() => void) | undefined;
  #closed = false;

  constructor(
    protected readonly feeds: LiveFeeds<C>,
    readonly key: string,
    readonly subject: string,
  ) {}

  /** Listens first, then does what must follow it (the first read); a failure closes the feed. */
  protected start(afterListening: () => Promise<void>): void {
    this.ready = (async () => {
      const unlisten = await this.feeds.options.source.listen(this.subject, (notice) => this.onNotice(notice));
      if (this.#closed) unlisten();
      else this.#unlisten = unlisten;
      await afterListening();
    })();
    this.ready.catch(() => this.close());
  }

  abstract onNotice(notice: unknown): void;
  /** After a NATS reconnect: notices may have been lost, read again. */
  abstract refresh(): void;

  /** The context reads are made with: the latest subscriber's (same identity for all). */
  protected get context(): C | undefined {
    let last: Member<C> | undefined;
    for (const member of this.members) last = member;
    return last?.context;
  }

  join(context: C): Member<C> {
    const member: Member<C> = { context, outbox: new Outbox(), open: true };
    this.members.add(member);
    return member;
  }

  leave(member: Member<C>): void {
    this.members.delete(member);
    if (this.members.size === 0) this.close();
  }

  /** Every subscriber gets an `error` with the failure's code; the feed closes. */
  protected fail(error: GraphQLError): void {
    this.feeds.options.logger.warn({ subject: this.subject, code: error.extensions['code'], err: error.message, subscribers: this.members.size }, 'live update read failed: subscribers told');
    for (const member of this.members) member.outbox.fail(error);
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unlisten?.();
    this.feeds.forget(this);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** One read, counted; a failure (thrown, or answered with errors) is retried with backoff. */
  protected async readWithRetry(contextOf: (context: C) => C): Promise<ExecutionResult> {
    const delays = this.feeds.options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    for (let attempt = 0; ; attempt++) {
      let result: ExecutionResult | undefined;
      let cause: unknown;
      // Each attempt with the latest subscriber's context (a socket whose token expired has left).
      const context = this.context;
      if (!context) throw failureOf('no subscriber left');
      try {
        result = await this.feeds.countedRead(contextOf(context));
        if (!result.errors?.length) return result;
      } catch (error) {
        cause = error;
      }
      const delay = delays[attempt];
      if (delay === undefined || this.#closed) throw failureOf(cause, result);
      this.feeds.options.logger.debug({ subject: this.subject, attempt: attempt + 1, err: result?.errors?.[0]?.message ?? String(cause) }, 'live update read failed: retrying');
      await sleep(delay);
    }
  }
}

/**
 * `tripUpdates`-like feeds: one payload, re-read on every notice. Reads are serial per feed
 * (a notice during a read asks for one more read after it), so payloads never go back in time.
 */
class SharedQuery<C> extends SharedFeed<C> {
  latest: { result: ExecutionResult; serialized: string } | undefined;
  #reading: Promise<void> | undefined;
  #again = false;

  constructor(feeds: LiveFeeds<C>, key: string, subject: string) {
    super(feeds, key, subject);
    this.start(() => this.#read({ first: true }));
  }

  onNotice(): void {
    this.refresh();
  }

  refresh(): void {
    this.#read({ first: false }).catch(() => {}); // failures are told to the subscribers in #read
  }

  #read({ first }: { first: boolean }): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      try {
        do {
          this.#again = false;
          const context = this.context;
          if (!context || this.closed) return;
          // The first read answers as it is (a refusal becomes the subscriber's `error`).
          const result = first && !this.latest ? await this.feeds.countedRead(context) : await this.readWithRetry((c) => c);
          const serialized = JSON.stringify(result);
          if (serialized === this.latest?.serialized) continue;
          this.latest = { result, serialized };
          for (const member of this.members) member.outbox.offer('', result, serialized);
        } while (this.#again);
      } catch (error) {
        this.fail(error instanceof GraphQLError ? error : failureOf(error));
        throw error;
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }
}

export interface OfferQueries<C> {
  /** The subscriber's open offers (its first payloads). */
  list: (context: C) => C;
  /** One offer, by trip. */
  one: (context: C, tripId: string) => C;
  /** The offers of a list answer, and the payload of one of them. */
  itemsOf: (result: ExecutionResult) => Array<{ tripId: string; result: ExecutionResult }>;
  /** The offer of a one-offer answer, null when there is none to push. */
  offerOf: (result: ExecutionResult) => ExecutionResult | null;
}

/**
 * `dispatchOffers`-like feeds: each notice names a trip, whose offer is re-read once for all
 * the subscribers (reads serial per trip); each subscriber replays its open offers itself.
 */
class SharedOffers<C> extends SharedFeed<C> {
  readonly #reading = new Map<string, boolean>();
  readonly #recent: string[] = [];

  constructor(
    feeds: LiveFeeds<C>,
    key: string,
    subject: string,
    readonly queries: OfferQueries<C>,
  ) {
    super(feeds, key, subject);
    this.start(async () => {});
  }

  onNotice(notice: unknown): void {
    const tripId = (notice as { tripId?: unknown } | null)?.tripId;
    if (typeof tripId === 'string') this.#readOffer(tripId);
  }

  refresh(): void {
    void (async () => {
      const context = this.context;
      if (!context || this.closed) return;
      let open: string[];
      try {
        open = this.queries.itemsOf(await this.readWithRetry(this.queries.list)).map((item) => item.tripId);
      } catch (error) {
        this.fail(error instanceof GraphQLError ? error : failureOf(error));
        return;
      }
      for (const tripId of new Set([...open, ...this.#recent])) this.#readOffer(tripId);
    })();
  }

  #readOffer(tripId: string): void {
    if (this.#reading.has(tripId)) {
      this.#reading.set(tripId, true);
      return;
    }
    this.#reading.set(tripId, false);
    void (async () => {
      try {
        do {
          this.#reading.set(tripId, false);
          const context = this.context;
          if (!context || this.closed) return;
          const offer = this.queries.offerOf(await this.readWithRetry((c) => this.queries.one(c, tripId)));
          if (!offer) continue;
          this.#remember(tripId);
          const serialized = JSON.stringify(offer);
          for (const member of this.members) member.outbox.offer(tripId, offer, serialized);
        } while (this.#reading.get(tripId));
      } catch (error) {
        this.fail(error instanceof GraphQLError ? error : failureOf(error));
      } finally {
        this.#reading.delete(tripId);
      }
    })();
  }

  #remember(tripId: string): void {
    const index = this.#recent.indexOf(tripId);
    if (index >= 0) this.#recent.splice(index, 1);
    this.#recent.push(tripId);
    if (this.#recent.length > RECENT_TRIPS) this.#recent.shift();
  }
}

/**
 * Live subscriptions that stay exact and cost one read per notice, however many follow:
 *
 * - **listen first**: a feed listens on its subject (and nats-server has the interest) before
 *   its first read, so a change landing between the two is read by the notice it sends;
 * - **shared reads**: subscriptions with the same key (subject, document, variables and
 *   identity: the caller builds it) share one feed, so a notice costs one read for all of them;
 * - **no repeats, no going back**: a subscriber is sent a payload only when it differs from what
 *   it was sent last; reads of one payload are serial;
 * - **reconnects**: `refreshAll()` (after a NATS reconnect) reads every feed again, since core
 *   NATS notices sent meanwhile are lost;
 * - **failures are told**: a read that fails after the first payload is retried with backoff,
 *   then every subscriber of the feed gets an `error` carrying the code, and is logged.
 */
export class LiveFeeds<C> {
  readonly #feeds = new Map<string, SharedFeed<C>>();
  #reads = 0;

  constructor(readonly options: LiveFeedOptions<C>) {}

  /** Reads made for live subscriptions since start (for `/metrics`). */
  get reads(): number {
    return this.#reads;
  }

  /** Subscriptions being followed now, over all feeds. */
  get subscribers(): number {
    let count = 0;
    for (const feed of this.#feeds.values()) count += feed.members.size;
    return count;
  }

  get feeds(): number {
    return this.#feeds.size;
  }

  async countedRead(context: C): Promise<ExecutionResult> {
    this.#reads++;
    return this.options.read(context);
  }

  /** Follows one payload (`tripUpdates`); `first` is the current one, read after listening, and is also the first of `updates`. */
  async followQuery(key: string, subject: string, context: C): Promise<Followed> {
    const feed = this.#feed(key, () => new SharedQuery(this, key, subject));
    const member = feed.join(context);
    try {
      await feed.ready;
    } catch (error) {
      feed.leave(member);
      throw error;
    }
    const latest = (feed as SharedQuery<C>).latest;
    if (!latest || latest.result.errors?.length) {
      feed.leave(member);
      return { first: latest?.result ?? { errors: [failureOf('the first read did not answer')] }, updates: updatesOf(member, () => {}) };
    }
    member.outbox.offer('', latest.result, latest.serialized); // sent first (or a fresher one instead)
    return { first: latest.result, updates: updatesOf(member, () => feed.leave(member)) };
  }

  /**
   * Follows offers (`dispatchOffers`): listens, then reads the subscriber's open offers, which
   * come first unless a notice brought a fresher one meanwhile; `first` is that list answer.
   */
  async followOffers(key: string, subject: string, context: C, queries: OfferQueries<C>): Promise<Followed> {
    const feed = this.#feed(key, () => new SharedOffers(this, key, subject, queries));
    const member = feed.join(context);
    try {
      await feed.ready;
      const first = await this.countedRead(queries.list(context));
      if (first.errors?.length) {
        feed.leave(member);
        return { first, updates: updatesOf(member, () => {}) };
      }
      for (const item of queries.itemsOf(first)) member.outbox.offer(item.tripId, item.result, JSON.stringify(item.result), { onlyIfUnknown: true });
      return { first, updates: updatesOf(member, () => feed.leave(member)) };
    } catch (error) {
      feed.leave(member);
      throw error;
    }
  }

  /** After a NATS reconnect: every feed reads again and pushes what changed. */
  refreshAll(): void {
    this.options.logger.info({ feeds: this.#feeds.size }, 'NATS reconnected: live subscriptions read again');
    for (const feed of this.#feeds.values()) feed.refresh();
  }

  forget(feed: SharedFeed<C>): void {
    if (this.#feeds.get(feed.key) === feed) this.#feeds.delete(feed.key);
  }

  #feed(key: string, create: () => SharedFeed<C>): SharedFeed<C> {
    const existing = this.#feeds.get(key);
    if (existing && !existing.closed) return existing;
    const feed = create();
    this.#feeds.set(key, feed);
    return feed;
  }
}
