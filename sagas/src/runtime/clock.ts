/** Where the runner reads the time: the system clock in production, a virtual one in tests. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * A clock that only moves when told to: deadlines become due by `advance`, not by waiting.
 * @example const clock = new VirtualClock('2026-11-23T10:00:00.000Z'); clock.advance(31_000);
 */
export class VirtualClock implements Clock {
  #ms: number;
  constructor(start: string | Date = '2026-11-23T10:00:00.000Z') {
    this.#ms = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.#ms);
  }
  advance(ms: number): void {
    this.#ms += ms;
  }
}
