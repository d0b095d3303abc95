/** Small helpers for benchmarks: percentiles, medians, and writing results to bench/results/. */
import { mkdirSync, writeFileSync } from 'node:fs';

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export const median = (values: readonly number[]) => percentile([...values].sort((a, b) => a - b), 50);

export const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

export function writeResults(name: string, results: unknown): string {
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}.json`, dir);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file.pathname;
}

/** Runs `op` `count` times with `concurrency` in flight; returns per-op latencies (ms) and ops/s. */
export async function measure(count: number, concurrency: number, op: (i: number) => Promise<unknown>) {
  const latencies: number[] = new Array(count);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t0 = performance.now();
        await op(i);
        latencies[i] = performance.now() - t0;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { opsPerSecond: count / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}
