import { haversineKm, type Position } from '@happyride/domain';

/** A seeded generator in [0, 1) (mulberry32): the same seed plays the same city. */
export function seededRandom(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KM_PER_DEGREE_LAT = 111.32;
const kmPerDegreeLng = (lat: number) => KM_PER_DEGREE_LAT * Math.cos((lat * Math.PI) / 180);

/** A uniformly spread point within `radiusKm` of `center` (flat-earth approximation: fine for a city). */
export function randomPointNear(center: Position, radiusKm: number, random: () => number): Position {
  const r = radiusKm * Math.sqrt(random());
  const angle = 2 * Math.PI * random();
  return {
    lng: center.lng + (r * Math.cos(angle)) / kmPerDegreeLng(center.lat),
    lat: center.lat + (r * Math.sin(angle)) / KM_PER_DEGREE_LAT,
  };
}

/**
 * Where someone at `from` heading for `to` is after driving `elapsedMs` at `speedKmh`, and
 * whether they have arrived. Never overshoots: the last step lands exactly on `to`.
 */
export function moveToward(from: Position, to: Position, speedKmh: number, elapsedMs: number): { position: Position; arrived: boolean } {
  const remainingKm = haversineKm(from, to);
  const stepKm = (speedKmh * elapsedMs) / 3_600_000;
  if (remainingKm <= stepKm || remainingKm === 0) return { position: { ...to }, arrived: true };
  const fraction = stepKm / remainingKm;
  return {
    position: { lng: from.lng + (to.lng - from.lng) * fraction, lat: from.lat + (to.lat - from.lat) * fraction },
    arrived: false,
  };
}

/** An exponentially distributed wait with the given mean: passengers arrive as a Poisson process. */
export const exponentialWait = (meanMs: number, random: () => number) => Math.round(-meanMs * Math.log(1 - random()));
