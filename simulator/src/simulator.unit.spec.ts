import { checkPlausibleMove, defaultMovementLimits, haversineKm, type PositionReport } from '@happyride/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exponentialWait, moveToward, randomPointNear, seededRandom } from './movement.ts';
import { OptionsError, parseSimulationOptions } from './options.ts';
import { progressLine, ratePerSecond } from './progress.ts';

const beijing = { lng: 116.3975, lat: 39.9087 };
const parse = (...args: string[]) => parseSimulationOptions(args, () => 'run1');

describe('simulator options', () => {
  it('given no options, then the defaults make a 200-driver, 50-passenger city around Beijing', () => {
    expect(parse()).toMatchObject({ drivers: 200, passengers: 50, center: beijing, acceptRate: 0.7, durationSeconds: 0, runId: 'run1' });
  });

  it('given options, then they are read', () => {
    expect(parse('--drivers', '5', '--passengers', '2', '--center', '2.35,48.85', '--accept-rate', '1', '--duration', '30')).toMatchObject({
      drivers: 5,
      passengers: 2,
      center: { lng: 2.35, lat: 48.85 },
      acceptRate: 1,
      durationSeconds: 30,
    });
  });

  it('given a centre west of Greenwich written with =, then its negative longitude is read', () => {
    expect(parse('--center=-73.98,40.75')).toMatchObject({ center: { lng: -73.98, lat: 40.75 } });
  });

  it.each([
    [['--drivers=-1'], /--drivers must be an integer between 0 and 100000, got "-1"/],
    [['--drivers', '1.5'], /--drivers must be an integer/],
    [['--accept-rate', '2'], /--accept-rate must be a number between 0 and 1/],
    [['--center', '200,10'], /--center must be a number between -180 and 180/],
    [['--center', '1,2,3'], /--center must be LNG,LAT/],
    [['--gateway', 'ftp://x'], /--gateway must be an http\(s\) URL/],
    [['--run-id', 'a b'], /--run-id must be/],
    [['--dirvers', '3'], /Unknown option '--dirvers'/],
    [['--time-scale', '20'], /--speed-kmh 40 × --time-scale 20 = 800 km\/h as the system sees it, above --max-speed-kmh 200/],
    [['--speed-kmh', '300', '--time-scale', '300', '--max-speed-kmh', '20000'], /= 90000 km\/h .* above --max-speed-kmh 20000/],
  ])('given %j, then the error names the option', (args, message) => {
    expect(() => parse(...args)).toThrow(OptionsError);
    expect(() => parse(...args)).toThrow(message);
  });
});

describe('simulated drivers, as the system sees them', () => {
  it('given the default options, then drivers appear to move at 120 km/h, under the system default of 200', () => {
    const options = parse();
    if (options === 'help') throw new Error('no help asked');
    expect(options.speedKmh * options.timeScale).toBe(120);
    expect(options.maxSpeedKmh).toBe(defaultMovementLimits.maxSpeedKmh);
  });

  it('given generated options the simulator accepts and generated report intervals, then every location it reports passes the plausibility check', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.double({ min: 1, max: 50, noNaN: true }),
        fc.array(fc.integer({ min: 100, max: 10_000 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 1_000 }),
        (speedKmh, timeScale, intervalsMs, seed) => {
          fc.pre(speedKmh * timeScale <= 200);
          const options = parseSimulationOptions(['--speed-kmh', String(speedKmh), '--time-scale', String(timeScale), '--max-speed-kmh', '200'], () => 'run1');
          if (options === 'help') throw new Error('no help asked');
          const random = seededRandom(seed);
          // As agents.ts drives: each report is where moveToward puts the driver after the wall time since the last, times the time scale.
          let wallMs = 0;
          let last: PositionReport = { position: beijing, at: new Date(0).toISOString() };
          let target = randomPointNear(beijing, 5, random);
          for (const intervalMs of intervalsMs) {
            wallMs += intervalMs;
            const step = moveToward(last.position, target, options.speedKmh, intervalMs * options.timeScale);
            if (step.arrived) target = randomPointNear(beijing, 5, random);
            const next = { position: step.position, at: new Date(wallMs).toISOString() };
            expect(() => checkPlausibleMove(last, next, { ...defaultMovementLimits, maxSpeedKmh: options.maxSpeedKmh }, 'location')).not.toThrow();
            last = next;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('movement', () => {
  it('given a seed, then the same points come out', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
  });

  it('given random points near a centre, then all lie within the radius', () => {
    const random = seededRandom(1);
    for (let i = 0; i < 1000; i++) expect(haversineKm(beijing, randomPointNear(beijing, 5, random))).toBeLessThanOrEqual(5.01);
  });

  it('given 40 km/h for 90 s, then the driver covers 1 km toward the target', () => {
    const target = randomPointNear(beijing, 5, seededRandom(3));
    const { position, arrived } = moveToward(beijing, target, 40, 90_000);
    expect(arrived).toBe(false);
    expect(haversineKm(beijing, position)).toBeCloseTo(1, 2);
    expect(haversineKm(position, target)).toBeCloseTo(haversineKm(beijing, target) - 1, 2);
  });

  it('given a step longer than what remains, then the driver lands on the target and has arrived', () => {
    const target = { lng: 116.4, lat: 39.91 };
    expect(moveToward(beijing, target, 40, 3_600_000)).toEqual({ position: target, arrived: true });
  });

  it('given exponential waits, then their mean is near the asked mean', () => {
    const random = seededRandom(11);
    const waits = Array.from({ length: 20_000 }, () => exponentialWait(1000, random));
    expect(waits.every((w) => w >= 0)).toBe(true);
    expect(waits.reduce((a, b) => a + b, 0) / waits.length).toBeGreaterThan(950);
    expect(waits.reduce((a, b) => a + b, 0) / waits.length).toBeLessThan(1050);
  });
});

describe('progress line', () => {
  it('given counters, then the line shows drivers, trips in lifecycle order, offers/s, accepts and errors', () => {
    const line = progressLine(12_345, 200, { onlineDrivers: 198, tripsByState: { FINISHED: 40, STARTED: 5, DISPATCHING: 3, CANCELLED: 0 }, offersReceived: 90, accepted: 30, errors: 0 }, 12.5);
    expect(line).toBe('12s · 198/200 drivers online · trips: 3 dispatching, 5 riding, 40 finished · offers 12.5/s · accepted 30 · errors 0');
  });

  it('given no trips yet, then it says so', () => {
    expect(progressLine(0, 5, { onlineDrivers: 0, tripsByState: {}, offersReceived: 0, accepted: 0, errors: 2 }, 0)).toContain('trips: none yet');
  });

  it('given arrivals, then the rate counts those within the window only', () => {
    expect(ratePerSecond([1_000, 9_000, 9_500, 10_000], 10_000, 5_000)).toBe(0.6);
  });
});
