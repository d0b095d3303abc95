import { describe, expect, it } from 'vitest';
import { boundedLabel, createMetricsRegistry, OPERATION_LABEL_BOUNDS, PER_HANDLE_METRICS } from './metrics.ts';

describe('boundedLabel (metric labels a client chooses)', () => {
  it('given names within the bounds, then each is its own label', () => {
    const label = boundedLabel(OPERATION_LABEL_BOUNDS);
    expect(['TripScreen', 'MyTrips', 'TripScreen'].map(label)).toEqual(['TripScreen', 'MyTrips', 'TripScreen']);
  });

  it('given a 65-character name, then it is counted as other; 64 is kept', () => {
    const label = boundedLabel(OPERATION_LABEL_BOUNDS);
    expect(label('A'.repeat(65))).toBe('other');
    expect(label('A'.repeat(64))).toBe('A'.repeat(64));
  });

  it('given 10,000 distinct names, then only the first 100 get a label of their own, and those keep it', () => {
    const label = boundedLabel(OPERATION_LABEL_BOUNDS);
    const labels = new Set(Array.from({ length: 10_000 }, (_, i) => label(`Op${i}`)));
    expect(labels.size).toBe(101);
    expect(labels.has('other')).toBe(true);
    expect(label('Op0')).toBe('Op0');
    expect(label('Op100')).toBe('other');
  });

  it('given a value that is not a GraphQL name, then it is other', () => {
    const label = boundedLabel();
    expect(label('a"b')).toBe('other');
    expect(label('')).toBe('other');
  });

  it('given error codes, then unknown shapes fold into the fallback', () => {
    const label = boundedLabel({ maxDistinct: 2, pattern: /^[A-Z][A-Z0-9_]*$/, fallback: 'ERROR' });
    expect(['FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'lower'].map(label)).toEqual(['FORBIDDEN', 'NOT_FOUND', 'ERROR', 'ERROR']);
  });
});

describe('createMetricsRegistry (Node figures per process)', () => {
  it('given a registry, then it has the cheap default figures but none that walks every open handle or file descriptor on a scrape', async () => {
    const registry = createMetricsRegistry('test');

    const names = (await registry.getMetricsAsJSON()).map((metric) => metric.name);

    expect(names).toEqual(expect.arrayContaining(['process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes']));
    for (const name of PER_HANDLE_METRICS) expect(names).not.toContain(name);
  });
});
