import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** One JSON logger per process, named for the service; `LOG_LEVEL` sets how much. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: service, level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}
