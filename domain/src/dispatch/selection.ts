import { haversineKm, type Position } from '../geo.ts';

/** A driver's acceptance of an offer, with where they were when they accepted. */
export interface DriverAcceptance {
  driverId: string;
  position: Position;
}

/**
 * The dispatch rule (DOMAIN.md, "Dispatch", step 5): among the drivers who accepted, and not
 * `excluded` (e.g. refused a reservation already), the one nearest to `start` and within
 * `radiusKm` of it (boundary included); ties go to the earlier acceptance. Undefined if none.
 * @example selectDriver({ lng: 0, lat: 0 }, [{ driverId: 'far', position: { lng: 0, lat: 0.05 } }, { driverId: 'near', position: { lng: 0, lat: 0.01 } }], 10) // → near, 1.11 km
 */
export function selectDriver(
  start: Position,
  acceptances: readonly DriverAcceptance[],
  radiusKm: number,
  excluded: ReadonlySet<string> | readonly string[] = [],
): { driverId: string; distanceKm: number } | undefined {
  const skip = new Set(excluded);
  let best: { driverId: string; distanceKm: number } | undefined;
  for (const { driverId, position } of acceptances) {
    if (skip.has(driverId)) continue;
    const distanceKm = haversineKm(start, position);
    if (distanceKm > radiusKm) continue;
    if (!best || distanceKm < best.distanceKm) best = { driverId, distanceKm };
  }
  return best;
}
