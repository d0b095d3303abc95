import { invalidInput } from '../errors.ts';
import { haversineKm, type Position } from '../geo.ts';

/** Where a driver said they were, and when (an ISO-8601 instant: the command's `now`). */
export interface PositionReport {
  position: Position;
  at: string;
}

/**
 * How fast a driver may appear to move between two reports: above `maxSpeedKmh` (over the time
 * between them) a report is refused; `jitterKm` of movement is always allowed (GPS noise, two
 * reports in the same instant).
 */
export interface MovementLimits {
  maxSpeedKmh: number;
  jitterKm: number;
}

/** 200 km/h, and 100 m of GPS jitter (`DRIVER_MAX_SPEED_KMH`, `DRIVER_GPS_JITTER_M`). */
export const defaultMovementLimits: MovementLimits = { maxSpeedKmh: 200, jitterKm: 0.1 };

/**
 * The speed in km/h a driver must have driven from `previous` to `next`, the jitter allowance
 * taken off the distance first: 0 when they moved no more than the jitter, Infinity when they
 * moved further in no time (or `next` is not after `previous`).
 * @example impliedSpeedKmh({ position: a, at: '…T10:00:00Z' }, { position: b, at: '…T10:01:00Z' }, 0.1)
 */
export function impliedSpeedKmh(previous: PositionReport, next: PositionReport, jitterKm: number): number {
  const beyondJitterKm = Math.max(0, haversineKm(previous.position, next.position) - jitterKm);
  if (beyondJitterKm === 0) return 0;
  const hours = (Date.parse(next.at) - Date.parse(previous.at)) / 3_600_000;
  return hours > 0 ? beyondJitterKm / hours : Infinity;
}

/**
 * Refuses (INVALID_INPUT, so BAD_USER_INPUT) a reported position the driver could not have
 * reached from their last report: the implied speed above `limits.maxSpeedKmh`. A driver's first
 * report (no `previous`) has nothing to be checked against and passes. `field` names the input
 * in the message (`location`, `position`).
 * @example checkPlausibleMove(last, { position, at: now }, defaultMovementLimits, 'location')
 */
export function checkPlausibleMove(previous: PositionReport | null, next: PositionReport, limits: MovementLimits, field: string): void {
  if (previous === null) return;
  const speed = impliedSpeedKmh(previous, next, limits.jitterKm);
  if (speed <= limits.maxSpeedKmh) return;
  const km = haversineKm(previous.position, next.position);
  const seconds = Math.max(0, (Date.parse(next.at) - Date.parse(previous.at)) / 1000);
  throw invalidInput(
    `${field} is not plausible: ${km.toFixed(2)} km from your last reported position ${seconds.toFixed(1)} s ago ` +
      `(${Number.isFinite(speed) ? `${Math.round(speed)} km/h` : 'no time at all'}; at most ${limits.maxSpeedKmh} km/h).`,
  );
}
