import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.ts';
import { destinationPoint, haversineKm, type Position } from '../geo.ts';
import { checkPlausibleMove, defaultMovementLimits, impliedSpeedKmh, type MovementLimits, type PositionReport } from './plausibility.ts';

const tiananmen = { lng: 116.3975, lat: 39.9087 };
const shanghai = { lng: 121.4737, lat: 31.2304 };
const at = (ms: number) => new Date(Date.UTC(2026, 10, 23, 10) + ms).toISOString();
const verdict = (previous: PositionReport | null, next: PositionReport, limits: MovementLimits = defaultMovementLimits) => {
  try {
    checkPlausibleMove(previous, next, limits, 'location');
    return 'accepted';
  } catch (error) {
    if (error instanceof DomainError && error.kind === 'INVALID_INPUT') return 'refused';
    throw error;
  }
};

// Anywhere a driver may be (away from the poles, where a bearing means little), any heading.
const start = fc.record({ lng: fc.double({ min: -180, max: 180, noNaN: true }), lat: fc.double({ min: -80, max: 80, noNaN: true }) });
const limits = fc.record({ maxSpeedKmh: fc.double({ min: 20, max: 400, noNaN: true }), jitterKm: fc.double({ min: 0, max: 0.2, noNaN: true }) });

describe('checkPlausibleMove (a driver cannot teleport)', () => {
  it('given generated pairs of reports, then a report is accepted iff the speed it implies (beyond the GPS jitter) is within the limit', () => {
    fc.assert(
      fc.property(
        start,
        fc.double({ min: 0, max: 360, noNaN: true }),
        fc.integer({ min: 1, max: 3_600_000 }), // 1 ms to an hour between the reports
        fc.double({ min: 0, max: 5, noNaN: true }), // the speed driven, as a multiple of the limit
        limits,
        (from, bearing, elapsedMs, speedFactor, limit) => {
          const hours = elapsedMs / 3_600_000;
          // The distance the generated speed covers in the time, plus the jitter allowance.
          const distanceKm = speedFactor * limit.maxSpeedKmh * hours + limit.jitterKm;
          // Too close to the line to tell (rounding in the sphere's trigonometry): not a case.
          fc.pre(Math.abs(speedFactor - 1) > 1e-6 && distanceKm < 5_000);
          const to = destinationPoint(from, bearing, distanceKm);

          const result = verdict({ position: from, at: at(0) }, { position: to, at: at(elapsedMs) }, limit);

          expect(result).toBe(speedFactor <= 1 ? 'accepted' : 'refused');
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('given generated moves within the jitter, then they are accepted however little time passed (the same instant too)', () => {
    fc.assert(
      fc.property(start, fc.double({ min: 0, max: 360, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 1_000 }), (from, bearing, share, elapsedMs) => {
        const to = destinationPoint(from, bearing, share * defaultMovementLimits.jitterKm * 0.999);
        expect(verdict({ position: from, at: at(0) }, { position: to, at: at(elapsedMs) })).toBe('accepted');
      }),
      { numRuns: 500 },
    );
  });

  it('given a driver with no report yet, when they report anywhere, then it is accepted (nothing to check against)', () => {
    fc.assert(fc.property(start, (position) => {
      expect(verdict(null, { position, at: at(0) })).toBe('accepted');
    }));
  });

  it('given a report, when the next one is further than the jitter at the same instant or earlier, then it is refused', () => {
    fc.assert(
      fc.property(start, fc.double({ min: 0, max: 360, noNaN: true }), fc.integer({ min: 0, max: 60_000 }), (from, bearing, earlierMs) => {
        const to = destinationPoint(from, bearing, 2 * defaultMovementLimits.jitterKm);
        expect(verdict({ position: from, at: at(earlierMs) }, { position: to, at: at(0) })).toBe('refused');
      }),
      { numRuns: 300 },
    );
  });

  it('given Tiananmen, when the driver reports Shanghai 10 s later (the teleport), then it is refused with the distance, the time and the limit', () => {
    expect(() => checkPlausibleMove({ position: tiananmen, at: at(0) }, { position: shanghai, at: at(10_000) }, defaultMovementLimits, 'location')).toThrow(
      /^location is not plausible: 10\d\d\.\d\d km from your last reported position 10\.0 s ago \(\d+ km\/h; at most 200 km\/h\)\.$/,
    );
  });

  it('given 1 km in 30 s (120 km/h), then it is accepted; in 15 s (240 km/h), refused', () => {
    const kmAway: Position = destinationPoint(tiananmen, 0, 1.1);
    expect(impliedSpeedKmh({ position: tiananmen, at: at(0) }, { position: kmAway, at: at(30_000) }, 0.1)).toBeCloseTo(120, 3);
    expect(verdict({ position: tiananmen, at: at(0) }, { position: kmAway, at: at(30_000) })).toBe('accepted');
    expect(verdict({ position: tiananmen, at: at(0) }, { position: kmAway, at: at(15_000) })).toBe('refused');
  });
});

describe('destinationPoint', () => {
  it('given generated starts, bearings and distances, then haversineKm measures the distance back', () => {
    fc.assert(
      fc.property(start, fc.double({ min: 0, max: 360, noNaN: true }), fc.double({ min: 0, max: 5_000, noNaN: true }), (from, bearing, km) => {
        expect(haversineKm(from, destinationPoint(from, bearing, km))).toBeCloseTo(km, 6);
      }),
      { numRuns: 1_000 },
    );
  });
});
