import { invalidInput } from '../errors.ts';
import { validPosition, type Position } from '../geo.ts';
import { validId } from '../validation.ts';

/**
 * Where a driver was at an instant. Not an aggregate event: locations are frequent and only the
 * latest matters, so they are kept as a last-value record, never folded into the driver's state.
 */
export interface DriverLocation {
  driverId: string;
  position: Position;
  /** ISO-8601 instant of the reading, from the command metadata. */
  at: string;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A driver location as the app sent it, checked: a subject-safe driver id, a valid position
 * (field `location`) and an ISO-8601 instant.
 * @example validDriverLocation('d1', { lng: 116.4, lat: 39.9 }, '2026-11-23T10:00:00.000Z')
 */
export function validDriverLocation(
  driverId: string,
  raw: { readonly lng: unknown; readonly lat: unknown },
  at: string,
): DriverLocation {
  const id = validId(driverId, 'driverId');
  const position = validPosition(raw, 'location');
  if (!ISO_INSTANT.test(at) || Number.isNaN(Date.parse(at))) {
    throw invalidInput(`at must be an ISO-8601 instant such as 2026-11-23T10:00:00.000Z; got ${JSON.stringify(at)}.`);
  }
  return { driverId: id, position, at };
}
