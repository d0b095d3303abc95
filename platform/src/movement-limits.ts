import { defaultMovementLimits, type MovementLimits } from '@happyride/domain';
import { envNumber } from './config.ts';

type Env = Record<string, string | undefined>;

/**
 * How fast a driver may appear to move between reports (`checkPlausibleMove`): `DRIVER_MAX_SPEED_KMH`
 * (default 200) and `DRIVER_GPS_JITTER_M` (default 100), read by driver-commands (location
 * updates) and trip-commands (the position of an acceptance).
 */
export const readMovementLimits = (env: Env): MovementLimits => ({
  maxSpeedKmh: envNumber(env, 'DRIVER_MAX_SPEED_KMH', defaultMovementLimits.maxSpeedKmh, { min: 1, max: 100_000 }),
  jitterKm: envNumber(env, 'DRIVER_GPS_JITTER_M', defaultMovementLimits.jitterKm * 1000, { min: 0, max: 10_000 }) / 1000,
});
