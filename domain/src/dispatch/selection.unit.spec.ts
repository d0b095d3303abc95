import { describe, expect, it } from 'vitest';
import { selectDriver } from './selection.ts';

const start = { lng: 0, lat: 0 };
/** About `km` north of the start. */
const at = (km: number) => ({ lng: 0, lat: km / 111.19508 });

describe('choosing among the drivers who accepted', () => {
  it('given several acceptances, then the nearest to the start wins', () => {
    const chosen = selectDriver(start, [{ driverId: 'far', position: at(5) }, { driverId: 'near', position: at(1) }, { driverId: 'mid', position: at(3) }], 10);
    expect(chosen?.driverId).toBe('near');
    expect(chosen?.distanceKm).toBeCloseTo(1, 3);
  });

  it('given the nearest one beyond the radius, then the nearest within it wins', () => {
    expect(selectDriver(start, [{ driverId: 'out', position: at(10.01) }, { driverId: 'in', position: at(9.99) }], 10)?.driverId).toBe('in');
  });

  it('given everyone beyond the radius, then nobody is chosen', () => {
    expect(selectDriver(start, [{ driverId: 'out', position: at(12) }], 10)).toBeUndefined();
  });

  it('given no acceptance, then nobody is chosen', () => {
    expect(selectDriver(start, [], 10)).toBeUndefined();
  });

  it('given the nearest one excluded (their reservation was refused), then the next nearest wins', () => {
    const acceptances = [{ driverId: 'near', position: at(1) }, { driverId: 'next', position: at(2) }];
    expect(selectDriver(start, acceptances, 10, ['near'])?.driverId).toBe('next');
    expect(selectDriver(start, acceptances, 10, new Set(['near', 'next']))).toBeUndefined();
  });

  it('given two at the same distance, then the earlier acceptance wins', () => {
    expect(selectDriver(start, [{ driverId: 'first', position: at(2) }, { driverId: 'second', position: at(2) }], 10)?.driverId).toBe('first');
  });
});
