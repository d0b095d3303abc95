import { parseArgs } from 'node:util';

/** What `npm run simulate -- …` accepts; every option has a default that makes a lively demo. */
export interface SimulationOptions {
  gatewayUrl: string;
  drivers: number;
  passengers: number;
  /** Centre of the simulated area and its radius: everyone starts, moves and travels inside it. */
  center: { lng: number; lat: number };
  areaKm: number;
  speedKmh: number;
  /** Probability that a driver accepts an offer. */
  acceptRate: number;
  /** Mean wait of a passenger between two trips (exponentially distributed). */
  requestEveryMs: number;
  locationEveryMs: number;
  /** Seconds to run; 0 runs until Ctrl-C. */
  durationSeconds: number;
  /**
   * Simulated time runs this many times faster than the wall clock (driving to, and on trips), so
   * the system sees drivers move at `speedKmh × timeScale`: at most `maxSpeedKmh`.
   */
  timeScale: number;
  /** The system's `DRIVER_MAX_SPEED_KMH`: faster reports are refused as implausible. */
  maxSpeedKmh: number;
  /** Prefix of every simulated id, so runs never collide. */
  runId: string;
  seed: number;
}

const spec = {
  gateway: { type: 'string', default: process.env['GATEWAY_URL'] ?? 'http://127.0.0.1:4000/graphql' },
  drivers: { type: 'string', default: '200' },
  passengers: { type: 'string', default: '50' },
  center: { type: 'string', default: '116.3975,39.9087' },
  'area-km': { type: 'string', default: '5' },
  'speed-kmh': { type: 'string', default: '40' },
  'accept-rate': { type: 'string', default: '0.7' },
  'request-every-ms': { type: 'string', default: '15000' },
  'location-every-ms': { type: 'string', default: '2000' },
  duration: { type: 'string', default: '0' },
  'time-scale': { type: 'string', default: '3' },
  'max-speed-kmh': { type: 'string', default: '200' },
  'run-id': { type: 'string' },
  seed: { type: 'string', default: '1' },
  help: { type: 'boolean', default: false },
} as const;

export const usage = `npm run simulate -- [options]
  --gateway URL            the gateway's GraphQL endpoint (GATEWAY_URL; default http://127.0.0.1:4000/graphql)
  --drivers N              simulated drivers (200)
  --passengers N           simulated passengers (50)
  --center LNG,LAT         centre of the area (116.3975,39.9087: Beijing; west or south: --center=-73.98,40.75)
  --area-km KM             radius of the area (5)
  --speed-kmh KMH          driving speed (40)
  --accept-rate P          probability that a driver accepts an offer, 0..1 (0.7)
  --request-every-ms MS    mean pause of a passenger between trips (15000)
  --location-every-ms MS   how often a driver reports its location (2000)
  --duration S             seconds to run, 0 = until Ctrl-C (0)
  --time-scale X           simulated time runs X times faster while driving (3); the system sees
                           speed-kmh × time-scale, which must not exceed --max-speed-kmh
  --max-speed-kmh KMH      the system's DRIVER_MAX_SPEED_KMH: it refuses faster drivers (200)
  --run-id ID              prefix of the simulated ids (random)
  --seed N                 random seed (1)`;

export class OptionsError extends Error {}

function number(name: string, raw: string, { min, max, integer = false }: { min: number; max?: number; integer?: boolean }): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `at least ${min}` : `between ${min} and ${max}`;
    throw new OptionsError(`--${name} must be ${integer ? 'an integer' : 'a number'} ${range}, got "${raw}"`);
  }
  return value;
}

/** Parses and validates the command line once; a bad option names itself. */
export function parseSimulationOptions(args: string[], randomRunId: () => string): SimulationOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({ args, options: spec, strict: true }));
  } catch (error) {
    throw new OptionsError((error as Error).message);
  }
  if (values.help) return 'help';
  const [lng, lat, ...rest] = values.center.split(',');
  const center = { lng: number('center', lng ?? '', { min: -180, max: 180 }), lat: number('center', lat ?? '', { min: -85, max: 85 }) };
  if (rest.length > 0) throw new OptionsError(`--center must be LNG,LAT, got "${values.center}"`);
  let gatewayUrl: URL;
  try {
    gatewayUrl = new URL(values.gateway);
  } catch {
    throw new OptionsError(`--gateway must be an http(s) URL, got "${values.gateway}"`);
  }
  if (!/^https?:$/.test(gatewayUrl.protocol)) throw new OptionsError(`--gateway must be an http(s) URL, got "${values.gateway}"`);
  const runId = values['run-id'] ?? randomRunId();
  if (!/^[A-Za-z0-9_-]{1,24}$/.test(runId)) throw new OptionsError('--run-id must be 1-24 letters, digits, _ or -');
  const speedKmh = number('speed-kmh', values['speed-kmh'], { min: 1, max: 300 });
  const timeScale = number('time-scale', values['time-scale'], { min: 1, max: 10_000 });
  const maxSpeedKmh = number('max-speed-kmh', values['max-speed-kmh'], { min: 1 });
  if (speedKmh * timeScale > maxSpeedKmh) {
    throw new OptionsError(
      `--speed-kmh ${speedKmh} × --time-scale ${timeScale} = ${speedKmh * timeScale} km/h as the system sees it, above --max-speed-kmh ${maxSpeedKmh}: the system would refuse the drivers' locations (lower one, or raise DRIVER_MAX_SPEED_KMH and --max-speed-kmh together)`,
    );
  }
  return {
    gatewayUrl: gatewayUrl.toString(),
    drivers: number('drivers', values.drivers, { min: 0, max: 100_000, integer: true }),
    passengers: number('passengers', values.passengers, { min: 0, max: 100_000, integer: true }),
    center,
    areaKm: number('area-km', values['area-km'], { min: 0.1, max: 1000 }),
    speedKmh,
    acceptRate: number('accept-rate', values['accept-rate'], { min: 0, max: 1 }),
    requestEveryMs: number('request-every-ms', values['request-every-ms'], { min: 100, integer: true }),
    locationEveryMs: number('location-every-ms', values['location-every-ms'], { min: 100, integer: true }),
    durationSeconds: number('duration', values.duration, { min: 0 }),
    timeScale,
    maxSpeedKmh,
    runId,
    seed: number('seed', values.seed, { min: 0, integer: true }),
  };
}
