import { describe, expect, it } from 'vitest';
import { refusal } from './testing/refusal.ts';
import { EARTH_RADIUS_KM, haversineKm, validPosition } from './geo.ts';

const tiananmen = { lng: 116.3975, lat: 39.9087 };
const capitalAirport = { lng: 116.5871, lat: 40.0799 };


describe('haversineKm', () => {
  it('measures one degree of latitude as about 111.19 km', () =>
    expect(haversineKm({ lng: 0, lat: 0 }, { lng: 0, lat: 1 })).toBeCloseTo(111.195, 3));

  it('measures Tiananmen to Beijing Capital Airport as 25 km ± 1', () =>
    expect(Math.abs(haversineKm(tiananmen, capitalAirport) - 25)).toBeLessThan(1));

  it('measures London to Paris as about 343.6 km', () =>
    expect(haversineKm({ lng: -0.1278, lat: 51.5074 }, { lng: 2.3522, lat: 48.8566 })).toBeCloseTo(343.56, 1));

  it('is zero from a point to itself and symmetric', () => {
    expect(haversineKm(tiananmen, tiananmen)).toBe(0);
    expect(haversineKm(tiananmen, capitalAirport)).toBe(haversineKm(capitalAirport, tiananmen));
  });

  it('measures antipodes as half the circumference', () =>
    expect(haversineKm({ lng: 0, lat: 0 }, { lng: 180, lat: 0 })).toBeCloseTo(Math.PI * EARTH_RADIUS_KM, 6));

  it('takes the short way across the antimeridian', () =>
    expect(haversineKm({ lng: 179.5, lat: 0 }, { lng: -179.5, lat: 0 })).toBeCloseTo(111.195, 3));
});

describe('validPosition', () => {
  it('returns a fresh position with only lng and lat', () =>
    expect(validPosition({ ...tiananmen, extra: 1 } as never, 'start')).toStrictEqual(tiananmen));

  it.each([
    [{ lng: -180, lat: -90 }],
    [{ lng: 180, lat: 90 }],
    [{ lng: 0, lat: 0 }],
  ])('accepts the bounds %j', (position) => expect(validPosition(position, 'start')).toEqual(position));

  it.each([
    ['lng NaN', { lng: Number.NaN, lat: 0 }, /start\.lng must be a finite number between -180 and 180; got NaN/],
    ['lng Infinity', { lng: Number.POSITIVE_INFINITY, lat: 0 }, /start\.lng .*got Infinity/],
    ['lat -Infinity', { lng: 0, lat: Number.NEGATIVE_INFINITY }, /start\.lat must be a finite number between -90 and 90; got -Infinity/],
    ['lng 181', { lng: 181, lat: 0 }, /start\.lng .*between -180 and 180; got 181/],
    ['lng -180.5', { lng: -180.5, lat: 0 }, /start\.lng .*-180 and 180/],
    ['lat -91', { lng: 0, lat: -91 }, /start\.lat .*between -90 and 90; got -91/],
    ['lat 90.0001', { lng: 0, lat: 90.0001 }, /start\.lat .*-90 and 90/],
    ['lng a string', { lng: '116.4', lat: 39.9 }, /start\.lng .*got "116\.4"/],
    ['lat missing', { lng: 116.4 }, /start\.lat .*got undefined/],
    ['lat null', { lng: 116.4, lat: null }, /start\.lat .*got null/],
  ])('refuses %s as invalid input naming the field and bound', (_label, raw, message) => {
    const error = refusal(() => validPosition(raw as never, 'start'));
    expect(error.kind).toBe('INVALID_INPUT');
    expect(error.message).toMatch(message);
  });

  it('refuses something that is not an object', () =>
    expect(refusal(() => validPosition(null as never, 'end')).message).toMatch(/end must be an object/));
});
