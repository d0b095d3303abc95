import { invalidInput } from './errors.ts';

/** A point on Earth in WGS 84 degrees, in GeoJSON order: longitude first. */
export interface Position {
  lng: number;
  lat: number;
}

/** Mean Earth radius (IUGG), in kilometres. */
export const EARTH_RADIUS_KM = 6371.0088;

function coordinate(value: unknown, name: string, bound: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < -bound || value > bound) {
    const got = typeof value === 'number' ? String(value) : JSON.stringify(value);
    throw invalidInput(`${name} must be a finite number between -${bound} and ${bound}; got ${got}.`);
  }
  return value;
}

/**
 * A position as the caller sent it, checked: `lng` in [-180, 180] and `lat` in [-90, 90],
 * both finite numbers. Returns a fresh `{ lng, lat }` without any other property.
 * @example validPosition({ lng: 116.3975, lat: 39.9087 }, 'start') // → { lng: 116.3975, lat: 39.9087 }
 * @example validPosition({ lng: 181, lat: 0 }, 'start') // throws INVALID_INPUT "start.lng must be … between -180 and 180 …"
 */
export function validPosition(raw: { readonly lng: unknown; readonly lat: unknown }, field: string): Position {
  if (typeof raw !== 'object' || raw === null) throw invalidInput(`${field} must be an object { lng, lat }.`);
  return { lng: coordinate(raw.lng, `${field}.lng`, 180), lat: coordinate(raw.lat, `${field}.lat`, 90) };
}

const radians = (degrees: number) => (degrees * Math.PI) / 180;

/**
 * Great-circle distance in kilometres (haversine formula on a sphere of radius
 * {@link EARTH_RADIUS_KM}); accurate to about 0.5 %, plenty for dispatch radii and fares.
 * @example haversineKm({ lng: 0, lat: 0 }, { lng: 0, lat: 1 }) // → 111.195…
 */
export function haversineKm(a: Position, b: Position): number {
  const dLat = radians(b.lat - a.lat);
  const dLng = radians(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(radians(a.lat)) * Math.cos(radians(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

const degrees = (radiansValue: number) => (radiansValue * 180) / Math.PI;

/**
 * The point `distanceKm` from `from` along the initial bearing `bearingDegrees` (clockwise from
 * north), on the same sphere as {@link haversineKm}; longitude normalised to [-180, 180].
 * @example destinationPoint({ lng: 0, lat: 0 }, 0, 111.195) // → about { lng: 0, lat: 1 }
 */
export function destinationPoint(from: Position, bearingDegrees: number, distanceKm: number): Position {
  const angular = distanceKm / EARTH_RADIUS_KM;
  const bearing = radians(bearingDegrees);
  const lat1 = radians(from.lat);
  const lng1 = radians(from.lng);
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(angular) + Math.cos(lat1) * Math.sin(angular) * Math.cos(bearing));
  const lng2 = lng1 + Math.atan2(Math.sin(bearing) * Math.sin(angular) * Math.cos(lat1), Math.cos(angular) - Math.sin(lat1) * Math.sin(lat2));
  return { lng: ((degrees(lng2) + 540) % 360) - 180, lat: degrees(lat2) };
}
