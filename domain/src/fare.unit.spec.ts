import { describe, expect, it } from 'vitest';
import { computeFare, defaultPricing, validPricing } from './fare.ts';

describe('computeFare', () => {
  it('is the base fare for a zero distance', () => expect(computeFare(0, defaultPricing)).toBe(10));

  it('adds the per-kilometre rate: 10 + 2.5 × 4 = 20', () => expect(computeFare(4, defaultPricing)).toBe(20));

  it.each([
    [12.345, 40.86], // 40.8625
    [24.965, 72.41], // 72.4125
    [1.001, 12.5], // 12.5025
    [0.003, 10.01], // 10.0075
  ])('rounds %d km to cents: %d', (distanceKm, fare) => expect(computeFare(distanceKm, defaultPricing)).toBe(fare));

  it('uses the pricing it is given', () => expect(computeFare(10, { baseFare: 8, perKm: 1.75 })).toBe(25.5));

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY]])('refuses a distance of %d', (distanceKm) =>
    expect(() => computeFare(distanceKm, defaultPricing)).toThrow(RangeError));
});

describe('validPricing', () => {
  it('accepts the default pricing', () => expect(validPricing(defaultPricing)).toBe(defaultPricing));

  it.each([
    [{ baseFare: -1, perKm: 2 }, /pricing\.baseFare/],
    [{ baseFare: 10, perKm: Number.NaN }, /pricing\.perKm/],
  ])('refuses %j', (pricing, message) => expect(() => validPricing(pricing)).toThrow(message));
});
