import { isValidId, type DriverLocation } from '@happyride/domain';
import { Kvm, KvWatchInclude, type KV } from '@nats-io/kv';
import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager } from './nats.ts';
import { ensureBucket, type ReplicaOptions } from './replicas.ts';

/**
 * Drivers' latest locations. Not aggregate events: they are frequent and only the last one
 * matters, so they live in a last-value store keyed by driver id (validated subject-safe with
 * `validId`, so it is a valid KV key as is).
 */
export interface DriverLocationStore {
  /** Records a driver's location, replacing the previous one. */
  put(location: DriverLocation): Promise<void>;
  /** The driver's latest location; null if none was ever put (or the id cannot be a driver's). */
  get(driverId: string): Promise<DriverLocation | null>;
  /**
   * Every location put from now on, until the loop breaks or `signal` aborts. Resolves once
   * watching has started: nothing put after that is missed. To build an index, watch first,
   * then load `all()`, and keep the later `at` of the two for a driver seen in both.
   */
  watch(options?: { signal?: AbortSignal }): Promise<AsyncIterable<DriverLocation>>;
  /** The latest location of every driver that has one, to (re)build an index. */
  all(): Promise<DriverLocation[]>;
}

/** The JetStream KV bucket of driver locations: one key per driver, history 1. */
export const DRIVER_LOCATIONS_BUCKET = 'driver-locations';

/** The KV key of a driver's location: the driver id itself (ids are subject-safe by `validId`). */
export const driverLocationKey = (driverId: string) => driverId;

/**
 * Creates the driver-locations bucket if it is missing; an existing bucket is left as it is.
 * Called by `bootstrapEventLog`, never on a request path.
 */
export async function ensureDriverLocationsBucket(jsm: JetStreamManager, { maxBytes, replicas }: ReplicaOptions & { maxBytes: number }): Promise<void> {
  await ensureBucket(jsm, DRIVER_LOCATIONS_BUCKET, { history: 1, max_bytes: maxBytes }, { replicas });
}

/** Driver locations in a JetStream KV bucket (created by the bootstrap step). */
export class KvDriverLocationStore implements DriverLocationStore {
  private constructor(private readonly kv: KV) {}

  /**
   * Binds to the bucket and checks it exists, so a missing bootstrap fails at start-up.
   * @example const locations = await KvDriverLocationStore.open(nats.js);
   */
  static async open(js: JetStreamClient): Promise<KvDriverLocationStore> {
    const kv = await new Kvm(js).open(DRIVER_LOCATIONS_BUCKET);
    try {
      await kv.status();
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
        throw new Error(`The KV bucket ${DRIVER_LOCATIONS_BUCKET} does not exist: run the bootstrap step (npm run bootstrap).`, {
          cause: error,
        });
      }
      throw error;
    }
    return new KvDriverLocationStore(kv);
  }

  async put(location: DriverLocation): Promise<void> {
    await this.kv.put(driverLocationKey(location.driverId), JSON.stringify(location));
  }

  async get(driverId: string): Promise<DriverLocation | null> {
    if (!isValidId(driverId)) return null;
    const entry = await this.kv.get(driverLocationKey(driverId));
    return entry?.operation === 'PUT' ? entry.json<DriverLocation>() : null;
  }

  async watch({ signal }: { signal?: AbortSignal } = {}): Promise<AsyncIterable<DriverLocation>> {
    const updates = await this.kv.watch({ include: KvWatchInclude.UpdatesOnly, ignoreDeletes: true });
    const stop = () => updates.stop();
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop, { once: true });
    return (async function* () {
      try {
        for await (const entry of updates) if (entry.operation === 'PUT') yield entry.json<DriverLocation>();
      } finally {
        signal?.removeEventListener('abort', stop);
        stop();
      }
    })();
  }

  async all(): Promise<DriverLocation[]> {
    const latest = new Map<string, DriverLocation>();
    // With history 1 the bucket's history is exactly the last entry per key.
    for await (const entry of await this.kv.history()) {
      if (entry.operation === 'PUT') latest.set(entry.key, entry.json<DriverLocation>());
      else latest.delete(entry.key);
    }
    return [...latest.values()];
  }
}

/** Driver locations in a Map, with the KV adapter's contract: for unit tests. */
export class InMemoryDriverLocationStore implements DriverLocationStore {
  readonly #latest = new Map<string, DriverLocation>();
  readonly #watchers = new Set<(location: DriverLocation) => void>();

  async put(location: DriverLocation): Promise<void> {
    const stored = structuredClone(location);
    this.#latest.set(stored.driverId, stored);
    for (const notify of this.#watchers) notify(structuredClone(stored));
  }

  async get(driverId: string): Promise<DriverLocation | null> {
    const location = this.#latest.get(driverId);
    return location ? structuredClone(location) : null;
  }

  async watch({ signal }: { signal?: AbortSignal } = {}): Promise<AsyncIterable<DriverLocation>> {
    const queue: DriverLocation[] = [];
    let wake = () => {};
    const notify = (location: DriverLocation) => {
      queue.push(location);
      wake();
    };
    const watchers = this.#watchers;
    const stop = () => {
      watchers.delete(notify);
      wake();
    };
    if (!signal?.aborted) watchers.add(notify);
    signal?.addEventListener('abort', stop, { once: true });
    return (async function* () {
      try {
        while (watchers.has(notify)) {
          const next = queue.shift();
          if (next) yield next;
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        signal?.removeEventListener('abort', stop);
        stop();
      }
    })();
  }

  async all(): Promise<DriverLocation[]> {
    return structuredClone([...this.#latest.values()]);
  }
}
