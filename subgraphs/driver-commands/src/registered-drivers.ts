import { driverDecider, fold, notFound } from '@happyride/domain';
import type { EventStore } from '@happyride/eventstore';

/**
 * Which drivers are registered, remembered in memory: a location update then costs one KV put,
 * not an aggregate read. Nothing un-registers a driver, so a remembered id never goes stale.
 */
export class RegisteredDrivers {
  readonly #known = new Set<string>();
  readonly #max: number;

  constructor(
    private readonly store: EventStore,
    { max = 100_000 }: { max?: number } = {},
  ) {
    this.#max = max;
  }

  remember(driverId: string): void {
    this.#known.delete(driverId);
    this.#known.add(driverId);
    if (this.#known.size > this.#max) {
      const oldest = this.#known.values().next().value;
      if (oldest !== undefined) this.#known.delete(oldest);
    }
  }

  /** Resolves if the driver is registered (reading its aggregate once); NOT_FOUND otherwise. */
  async require(driverId: string): Promise<void> {
    if (this.#known.has(driverId)) return;
    const history = await this.store.read('driver', driverId);
    if (fold(driverDecider, history.events).status !== 'registered') {
      throw notFound(`Driver ${driverId} is not registered: register as a driver first.`);
    }
    this.remember(driverId);
  }
}
