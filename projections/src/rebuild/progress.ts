/**
 * The rebuild's progress line, as pure functions: `formatProgress` draws it, `shouldDraw`
 * decides when (a terminal redraws in place often; a log file gets a line now and then).
 */

export type RebuildPhase = 'replaying' | 'catching up' | 'waiting for the projector';

export interface ProgressSample {
  projection: string;
  generation: number;
  phase: RebuildPhase;
  /** Events applied so far. */
  done: number;
  /** Events to apply in all: done + still pending (grows while events keep being appended). */
  total: number;
  elapsedMs: number;
}

const BAR_WIDTH = 24;

/** `1 234 567`: thousands apart, for a line read at a glance. */
export const groupDigits = (n: number) => Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ' ');

/** `45s`, `3m07s`, `2h05m`; `--` when unknown. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Events per second so far (0 before the first second's worth of data). */
export const rateOf = ({ done, elapsedMs }: Pick<ProgressSample, 'done' | 'elapsedMs'>) => (elapsedMs > 0 ? (done * 1000) / elapsedMs : 0);

/** Time left at the rate so far; NaN when the rate is not known yet. */
export function etaMs(sample: Pick<ProgressSample, 'done' | 'total' | 'elapsedMs'>): number {
  const left = Math.max(0, sample.total - sample.done);
  if (left === 0) return 0;
  const rate = rateOf(sample);
  return rate > 0 ? (left / rate) * 1000 : Number.NaN;
}

/**
 * One line: `trip-history → g1 replaying [##########..............] 4 200/10 000  42.0%  1 850 ev/s  ETA 3s`.
 */
export function formatProgress(sample: ProgressSample): string {
  const { projection, generation, phase, done, total } = sample;
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
  const percent = `${(fraction * 100).toFixed(1)}%`;
  return `${projection} → g${generation} ${phase} ${bar} ${groupDigits(done)}/${groupDigits(total)}  ${percent}  ${groupDigits(rateOf(sample))} ev/s  ETA ${formatDuration(etaMs(sample))}`;
}

/** Redraws on a terminal at most every `ttyEveryMs`; elsewhere a new line every `logEveryMs`. */
export function shouldDraw(
  { lastDrawMs, nowMs, tty }: { lastDrawMs: number | null; nowMs: number; tty: boolean },
  { ttyEveryMs = 100, logEveryMs = 3000 } = {},
): boolean {
  if (lastDrawMs === null) return true;
  return nowMs - lastDrawMs >= (tty ? ttyEveryMs : logEveryMs);
}

/** What to write for a line: on a terminal, back to the line's start and clear it; else a plain line. */
export const drawnLine = (line: string, tty: boolean) => (tty ? `\r${line}\x1b[K` : `${line}\n`);
