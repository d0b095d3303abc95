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

const DONE: IteratorResult<ExecutionResult> = { done: true, value: undefined };

/**
 * One subscriber of a shared feed, and its side as the async iterator graphql-ws consumes. It
 * keeps what it has not been sent yet: the latest payload per key (a trip, an offer), never a
 * queue (a slow client costs one payload per key), and what it was last sent, so the same state
 * is never pushed twice. An idle subscriber holds one pending `next()` and nothing else: no
 * maps, no async frames, no closures of its own.
 */
class Subscriber<C> {
  #pending: Map<string, { result: ExecutionResult; serialized: string }> | undefined;
  #sent: Map<string, string> | undefined;
  #failure: GraphQLError | undefined;
  #waiting: { resolve: (result: IteratorResult<ExecutionResult>) => void; reject: (error: unknown) => void } | undefined;
  /** The feed it is in until it leaves (the end of the subscription, or refused at the start). */
  #feed: SharedFeed<C> | undefined;

  constructor(
    readonly context: C,
    feed: SharedFeed<C>,
  ) {
    this.#feed = feed;
  }

  /** Queues `result` for `key` unless it is what the subscriber has already. */
  offer(key: string, result: ExecutionResult, serialized: string, { onlyIfUnknown = false } = {}): void {
    if (onlyIfUnknown && (this.#pending?.has(key) || this.#sent?.has(key))) return;
    this.#pending?.delete(key);
    if (this.#sent?.get(key) !== serialized) (this.#pending ??= new Map()).set(key, { result, serialized });
    this.#deliver();
  }

  /** Ends the subscription with `error` once what is pending has been sent. */
  fail(error: GraphQLError): void {
    this.#failure ??= error;
    this.#deliver();
  }

  /** Out of its feed, without ending the iterator (a subscription refused at its start). */
  leave(): void {
    const feed = this.#feed;
    this.#feed = undefined;
    feed?.leave(this);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (!this.#feed) return Promise.resolve(DONE);
    const value = this.#take();
    if (value) return Promise.resolve({ done: false, value });
    if (this.#failure) {
      this.leave();
      return Promise.reject(this.#failure);
    }
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.leave();
    this.#deliver();
    return Promise.resolve(DONE);
  }

  /** Answers a waiting `next()`: the next payload, the end, or the failure once nothing is pending. */
  #deliver(): void {
    const waiting = this.#waiting;
    if (!waiting) return;
    if (!this.#feed) {
      this.#waiting = undefined;
      waiting.resolve(DONE);
      return;
    }
    const value = this.#take();
    if (value) {
      this.#waiting = undefined;
      waiting.resolve({ done: false, value });
    } else if (this.#failure) {
      this.#waiting = undefined;
      this.leave();
      waiting.reject(this.#failure);
    }
  }

  #take(): ExecutionResult | undefined {
    const next = this.#pending?.entries().next();
    if (!next || next.done) return undefined;
    const [key, { result, serialized }] = next.value;
    this.#pending!.delete(key);
    const sent = (this.#sent ??= new Map());
    sent.delete(key);
    sent.set(key, serialized);
    if (sent.size > REMEMBERED_KEYS) sent.delete(sent.keys().next().value!);
    return result;
  }
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
  readonly members = new Set<Subscriber<C>>();
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
    let last: Subscriber<C> | undefined;
    for (const member of this.members) last = member;
    return last?.context;
  }

  join(context: C): Subscriber<C> {
    const member = new Subscriber(context, this);
    this.members.add(member);
    return member;
  }

  leave(member: Subscriber<C>): void {
    this.members.delete(member);
    if (this.members.size === 0) this.close();
  }

  /** Every subscriber gets an `error` with the failure's code; the feed closes. */
  protected fail(error: GraphQLError): void {
    this.feeds.options.logger.warn({ subject: this.subject, code: error.extensions['code'], err: error.message, subscribers: this.members.size }, 'live update read failed: subscribers told');
    for (const member of this.members) member.fail(error);
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
          for (const member of this.members) member.offer('', result, serialized);
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
  /** The subscriber's open offers, their trip ids only (each is then read with `one`). */
  list: (context: C) => C;
  /** One offer, by trip. */
  one: (context: C, tripId: string) => C;
  /** The trips of the offers in a list answer. */
  tripIdsOf: (result: ExecutionResult) => string[];
  /** The offer of a one-offer answer, null when there is none to push. */
  offerOf: (result: ExecutionResult) => ExecutionResult | null;
  /**
   * The payload of a notice that carries every field the subscriber selected (no read needed);
   * null when it lacks one (the offer is then read through the graph).
   */
  fromNotice?: (context: C, notice: unknown) => ExecutionResult | null;
}

/** What a trip's offer is updated from next: a notice (pushed from its content when it carries enough), or a read. */
const READ_AGAIN = Symbol('read the offer through the graph');
const HANDLED = Symbol('nothing new since');

/**
 * `dispatchOffers`-like feeds: each notice names a trip; its offer is pushed from the notice's
 * content when that carries every selected field, else re-read once for all the subscribers.
 * Updates are serial per trip, latest notice first, so an offer never goes back in time; each
 * subscriber replays its open offers itself.
 */
class SharedOffers<C> extends SharedFeed<C> {
  /** Per trip being updated: the latest notice not handled yet, READ_AGAIN, or HANDLED. */
  #next: Map<string, unknown> | undefined;
  #recent: string[] | undefined;

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
    if (typeof tripId === 'string') this.#update(tripId, notice);
  }

  refresh(): void {
    void (async () => {
      const context = this.context;
      if (!context || this.closed) return;
      let open: string[];
      try {
        open = this.queries.tripIdsOf(await this.readWithRetry(this.queries.list));
      } catch (error) {
        this.fail(error instanceof GraphQLError ? error : failureOf(error));
        return;
      }
      for (const tripId of new Set([...open, ...(this.#recent ?? [])])) this.#update(tripId, READ_AGAIN);
    })();
  }

  #update(tripId: string, next: unknown): void {
    const pending = (this.#next ??= new Map());
    const busy = pending.has(tripId);
    pending.set(tripId, next);
    if (busy) return;
    void (async () => {
      try {
        for (let latest = pending.get(tripId); latest !== HANDLED; latest = pending.get(tripId)) {
          pending.set(tripId, HANDLED);
          const context = this.context;
          if (!context || this.closed) return;
          const offer = (latest === READ_AGAIN ? null : this.queries.fromNotice?.(context, latest)) ?? this.queries.offerOf(await this.readWithRetry((c) => this.queries.one(c, tripId)));
          if (!offer) continue;
          this.#remember(tripId);
          const serialized = JSON.stringify(offer);
          for (const member of this.members) member.offer(tripId, offer, serialized);
        }
      } catch (error) {
        this.fail(error instanceof GraphQLError ? error : failureOf(error));
      } finally {
        pending.delete(tripId);
      }
    })();
  }

  #remember(tripId: string): void {
    const recent = (this.#recent ??= []);
    const index = recent.indexOf(tripId);
    if (index >= 0) recent.splice(index, 1);
    recent.push(tripId);
    if (recent.length > RECENT_TRIPS) recent.shift();
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
      member.leave();
      throw error;
    }
    const latest = (feed as SharedQuery<C>).latest;
    if (!latest || latest.result.errors?.length) {
      member.leave();
      return { first: latest?.result ?? { errors: [failureOf('the first read did not answer')] }, updates: member };
    }
    member.offer('', latest.result, latest.serialized); // sent first (or a fresher one instead)
    return { first: latest.result, updates: member };
  }

  /**
   * Follows offers (`dispatchOffers`): listens, then reads which offers of the subscriber are
   * open and each of them, which come first unless a notice brought a fresher one meanwhile;
   * `first` is the list answer (or the first read that failed).
   */
  async followOffers(key: string, subject: string, context: C, queries: OfferQueries<C>): Promise<Followed> {
    const feed = this.#feed(key, () => new SharedOffers(this, key, subject, queries));
    const member = feed.join(context);
    try {
      await feed.ready;
      const first = await this.countedRead(queries.list(context));
      if (first.errors?.length) {
        member.leave();
        return { first, updates: member };
      }
      // The list names the open offers; each is read as one offer with the subscriber's selection.
      for (const tripId of queries.tripIdsOf(first)) {
        const read = await this.countedRead(queries.one(context, tripId));
        if (read.errors?.length) {
          member.leave();
          return { first: read, updates: member };
        }
        const offer = queries.offerOf(read);
        if (offer) member.offer(tripId, offer, JSON.stringify(offer), { onlyIfUnknown: true });
      }
      return { first, updates: member };
    } catch (error) {
      member.leave();
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
