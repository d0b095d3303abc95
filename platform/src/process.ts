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

export interface LoopSupervisor {
  /** Watches one worker loop: it must not end (with an error or without) unless `stopping` aborted. */
  watch(name: string, running: Promise<unknown>): void;
  /** Why the process is not ready (a loop stopped), or `null` while every loop runs: for `/ready`. */
  failure(): string | null;
}

/**
 * Worker loops (a saga consumer, dispatch's driver feed, a projector) run for the life of their
 * process. One that stops (it threw, or it ended although nobody asked it to) would leave a
 * process that looks alive and does nothing, so the supervisor makes it loud: it logs the loop
 * and its error at `fatal`, answers `failure()` (→ `/ready` 503) and exits the process with
 * code 1 after `exitAfterMs`, for `npm start`'s launcher (or an orchestrator) to restart it.
 * @example const loops = superviseLoops({ logger, stopping: stop.signal }); loops.watch('saga consumer', running);
 */
export function superviseLoops({
  logger,
  stopping,
  exit = (code) => process.exit(code),
  exitAfterMs = 200,
}: {
  logger: Logger;
  /** Aborted when the process shuts down on purpose: loops ending then are expected. */
  stopping: AbortSignal;
  exit?: (code: number) => void;
  exitAfterMs?: number;
}): LoopSupervisor {
  let failed: string | null = null;
  const stopped = (name: string, error?: unknown) => {
    if (stopping.aborted || failed) return;
    failed = `${name} stopped${error === undefined ? '' : `: ${error instanceof Error ? error.message : String(error)}`}`;
    logger.fatal({ loop: name, ...(error === undefined ? {} : { err: error }) }, `${failed}; exiting with code 1 to be restarted`);
    setTimeout(() => exit(1), exitAfterMs);
  };
  return {
    watch(name, running) {
      running.then(
        () => stopped(name),
        (error: unknown) => stopped(name, error),
      );
    },
    failure: () => failed,
  };
}
