/** How a trip is priced; configured once per process and handed to `createTripDecider`. */
export interface Pricing {
  /** Flat amount charged for every trip. */
  baseFare: number;
  /** Amount per kilometre of great-circle distance between start and end. */
  perKm: number;
}

export const defaultPricing: Pricing = { baseFare: 10, perKm: 2.5 };

/**
 * The fare of a trip: `baseFare + perKm × distanceKm`, rounded to cents
 * (`Math.round(x * 100) / 100`).
 * @example computeFare(12.345, { baseFare: 10, perKm: 2.5 }) // 10 + 30.8625 → 40.86
 */
export function computeFare(distanceKm: number, pricing: Pricing): number {
  if (!Number.isFinite(distanceKm) || distanceKm < 0) {
    throw new RangeError(`distanceKm must be a finite, non-negative number; got ${distanceKm}.`);
  }
  return Math.round((pricing.baseFare + pricing.perKm * distanceKm) * 100) / 100;
}

/** Checks a pricing configuration: both amounts finite and non-negative. */
export function validPricing(pricing: Pricing): Pricing {
  for (const key of ['baseFare', 'perKm'] as const) {
    const value = pricing[key];
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`pricing.${key} must be a finite, non-negative number; got ${value}.`);
    }
  }
  return pricing;
}
