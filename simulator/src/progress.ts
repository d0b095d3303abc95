/** What the simulator has seen so far, as counted by its drivers and passengers. */
export interface SimulationCounters {
  onlineDrivers: number;
  /** The latest state of every trip the passengers requested, by state. */
  tripsByState: Record<string, number>;
  offersReceived: number;
  accepted: number;
  errors: number;
}

const order = ['CREATED', 'CONFIRMED', 'DISPATCHING', 'DRIVER_ASSIGNED', 'STARTED', 'FINISHED', 'REJECTED', 'DISPATCH_FAILED', 'CANCELLATION_REQUESTED', 'CANCELLED'];

const abbreviations: Record<string, string> = {
  CREATED: 'created',
  CONFIRMED: 'confirmed',
  DISPATCHING: 'dispatching',
  DRIVER_ASSIGNED: 'assigned',
  STARTED: 'riding',
  FINISHED: 'finished',
  REJECTED: 'rejected',
  DISPATCH_FAILED: 'no driver',
  CANCELLATION_REQUESTED: 'cancelling',
  CANCELLED: 'cancelled',
};

/**
 * One status line: `12s · 198/200 drivers online · trips: 3 dispatching, 5 riding, 40 finished ·
 * offers 12.5/s · accepted 30 · errors 0`. `offersPerSecond` is measured by the caller over
 * its own window.
 */
export function progressLine(elapsedMs: number, totalDrivers: number, counters: SimulationCounters, offersPerSecond: number): string {
  const states = Object.entries(counters.tripsByState)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([state, count]) => `${count} ${abbreviations[state] ?? state.toLowerCase()}`);
  return [
    `${Math.floor(elapsedMs / 1000)}s`,
    `${counters.onlineDrivers}/${totalDrivers} drivers online`,
    `trips: ${states.length > 0 ? states.join(', ') : 'none yet'}`,
    `offers ${offersPerSecond.toFixed(1)}/s`,
    `accepted ${counters.accepted}`,
    `errors ${counters.errors}`,
  ].join(' · ');
}

function rank(state: string): number {
  const index = order.indexOf(state);
  return index === -1 ? order.length : index;
}

/** Offers per second over a sliding window of recent arrival times. */
export function ratePerSecond(arrivals: readonly number[], now: number, windowMs = 5_000): number {
  const recent = arrivals.filter((at) => at > now - windowMs).length;
  return recent / (windowMs / 1000);
}
