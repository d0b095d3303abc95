import type { Logger } from './logger.ts';
import { startTracing } from './tracing.ts';

/**
 * Runs a process's `main`: logs a start-up failure (a configuration error names its
 * variable) and exits 1; on SIGINT/SIGTERM runs the stop hooks once, in reverse order.
 */
export function runMain(logger: Logger, main: () => Promise<Array<() => Promise<unknown>>>): void {
  const tracing = startTracing(String(logger.bindings()['service'] ?? 'happyride'), process.env);
  let stops: Array<() => Promise<unknown>> = [tracing.shutdown];
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    for (const stop of [...stops].reverse()) {
      await stop().catch((error: unknown) => logger.warn({ err: error }, 'error while stopping'));
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  main().then(
    (registered) => {
      stops = registered;
    },
    (error: unknown) => {
      logger.fatal({ err: error }, error instanceof Error ? `start-up failed: ${error.message}` : 'start-up failed');
      process.exit(1);
    },
  );
}
