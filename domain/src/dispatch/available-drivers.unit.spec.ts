import { describe, expect, it } from 'vitest';
import { haversineKm, type Position } from '../geo.ts';
import { AvailableDriversIndex } from './available-drivers.ts';

const tiananmen: Position = { lng: 116.3975, lat: 39.9087 };
/** A point `km` north of `from` (a degree of latitude is 111.195 km on this sphere). */
const north = (from: Position, km: number): Position => ({ lng: from.lng, lat: from.lat + km / 111.19508 });

function online(index: AvailableDriversIndex, driverId: string, position: Position, at?: string) {
  index.setOnline(driverId, true);
  index.moveTo(driverId, position, at);
}

/** The reference answer: every available driver, by brute force. */
function bruteForce(drivers: Map<string, Position>, point: Position, radiusKm: number, limit: number) {
  return [...drivers]
    .map(([driverId, position]) => ({ driverId, distanceKm: haversineKm(point, position) }))
    .filter((d) => d.distanceKm <= radiusKm)
    .sort((a, b) => a.distanceKm - b.distanceKm)
    .slice(0, limit)
    .map((d) => d.driverId);
}

describe('the index of available drivers', () => {
  it('given drivers at several distances, when searching 10 km around a point, then those within come nearest first', () => {
    const index = new AvailableDriversIndex();
    online(index, 'at-5km', north(tiananmen, 5));
    online(index, 'at-1km', north(tiananmen, 1));
    online(index, 'at-12km', north(tiananmen, 12));
    online(index, 'at-3km', { lng: tiananmen.lng + 3 / (111.19508 * Math.cos((tiananmen.lat * Math.PI) / 180)), lat: tiananmen.lat });
    const found = index.nearest(tiananmen, 10, 10);
    expect(found.map((d) => d.driverId)).toEqual(['at-1km', 'at-3km', 'at-5km']);
    expect(found[0]!.distanceKm).toBeCloseTo(1, 3);
  });

  it('given more drivers than the limit, when searching, then only the nearest `limit` come back', () => {
    const index = new AvailableDriversIndex();
    for (let k = 1; k <= 9; k++) online(index, `d${k}`, north(tiananmen, k));
    expect(index.nearest(tiananmen, 10, 3).map((d) => d.driverId)).toEqual(['d1', 'd2', 'd3']);
  });

  it('given drivers just inside and just outside the radius, when searching, then the boundary is inclusive', () => {
    const index = new AvailableDriversIndex();
    const inside = north(tiananmen, 9.999);
    const outside = north(tiananmen, 10.001);
    online(index, 'inside', inside);
    online(index, 'outside', outside);
    expect(index.nearest(tiananmen, haversineKm(tiananmen, inside), 10).map((d) => d.driverId)).toEqual(['inside']);
    expect(index.nearest(tiananmen, 10, 10).map((d) => d.driverId)).toEqual(['inside']);
  });

  it('given a driver who is online without any location yet, then they are not found until they report one', () => {
    const index = new AvailableDriversIndex();
    index.setOnline('d1', true);
    expect(index.nearest(tiananmen, 10)).toEqual([]);
    index.moveTo('d1', tiananmen);
    expect(index.nearest(tiananmen, 10).map((d) => d.driverId)).toEqual(['d1']);
  });

  it('given a located driver who is offline, then they are not found; once online they are; offline again, gone', () => {
    const index = new AvailableDriversIndex();
    index.moveTo('d1', tiananmen);
    expect(index.nearest(tiananmen, 10)).toEqual([]);
    index.setOnline('d1', true);
    expect(index.isAvailable('d1')).toBe(true);
    index.setOnline('d1', false);
    expect(index.nearest(tiananmen, 10)).toEqual([]);
    expect(index.size).toBe(0);
  });

  it('given a driver reserved for a trip, then they are not found until released', () => {
    const index = new AvailableDriversIndex();
    online(index, 'd1', tiananmen);
    index.setActiveTrip('d1', 't1');
    expect(index.nearest(tiananmen, 10)).toEqual([]);
    index.setActiveTrip('d1', undefined);
    expect(index.nearest(tiananmen, 10).map((d) => d.driverId)).toEqual(['d1']);
  });

  it('given a driver moving across many cells, then they are found only where they are now, once', () => {
    const index = new AvailableDriversIndex();
    online(index, 'd1', tiananmen, '2026-11-23T10:00:00Z');
    index.moveTo('d1', north(tiananmen, 30), '2026-11-23T10:05:00Z');
    expect(index.nearest(tiananmen, 10)).toEqual([]);
    expect(index.nearest(north(tiananmen, 30), 1).map((d) => d.driverId)).toEqual(['d1']);
    expect(index.size).toBe(1);
  });

  it('given an older location arriving after a newer one, then the newer one is kept', () => {
    const index = new AvailableDriversIndex();
    online(index, 'd1', north(tiananmen, 30), '2026-11-23T10:05:00Z');
    index.moveTo('d1', tiananmen, '2026-11-23T10:00:00Z');
    expect(index.nearest(north(tiananmen, 30), 1).map((d) => d.driverId)).toEqual(['d1']);
  });

  it('given drivers on both sides of the antimeridian, when searching near it, then both are found', () => {
    const index = new AvailableDriversIndex();
    online(index, 'east', { lng: 179.99, lat: -16.5 });
    online(index, 'west', { lng: -179.99, lat: -16.5 });
    online(index, 'far', { lng: 170, lat: -16.5 });
    const found = index.nearest({ lng: 180, lat: -16.5 }, 10);
    expect(found.map((d) => d.driverId).sort()).toEqual(['east', 'west']);
  });

  it('given drivers near a pole, when searching from the pole, then every longitude is covered', () => {
    const index = new AvailableDriversIndex();
    online(index, 'a', { lng: 0, lat: 89.95 });
    online(index, 'b', { lng: 120, lat: 89.95 });
    online(index, 'c', { lng: -150, lat: 89.96 });
    online(index, 'far', { lng: 0, lat: 89 });
    const found = index.nearest({ lng: 45, lat: 90 }, 10);
    expect(found.map((d) => d.driverId).sort()).toEqual(['a', 'b', 'c']);
    expect(found[0]!.driverId).toBe('c');
  });

  it('given a negative radius or a zero limit, then nothing is found', () => {
    const index = new AvailableDriversIndex();
    online(index, 'd1', tiananmen);
    expect(index.nearest(tiananmen, -1)).toEqual([]);
    expect(index.nearest(tiananmen, 10, 0)).toEqual([]);
  });

  it('given thousands of drivers scattered over a city, when searching anywhere, then it agrees with brute force', () => {
    const index = new AvailableDriversIndex();
    const drivers = new Map<string, Position>();
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 5_000; i++) {
      const position = { lng: 116 + random() * 0.8, lat: 39.6 + random() * 0.6 };
      online(index, `d${i}`, position);
      drivers.set(`d${i}`, position);
    }
    for (let i = 0; i < 1_000; i += 3) {
      index.setOnline(`d${i}`, false);
      drivers.delete(`d${i}`);
    }
    for (let q = 0; q < 50; q++) {
      const point = { lng: 116 + random() * 0.8, lat: 39.6 + random() * 0.6 };
      const radius = 0.5 + random() * 10;
      const limit = 1 + Math.floor(random() * 30);
      expect(index.nearest(point, radius, limit).map((d) => d.driverId)).toEqual(bruteForce(drivers, point, radius, limit));
    }
  });
});
