import { describe, expect, it } from 'vitest';
import { NoticeInvalidatedCache } from './notice-cache.ts';

/** A store whose answer is its version: each load says which version it saw. */
function versionedStore() {
  const store = { version: 1, loads: 0 };
  const load = async () => {
    store.loads++;
    return store.version;
  };
  return { store, load };
}

describe('NoticeInvalidatedCache', () => {
  it('given an answer loaded, when it is read again with no notice, then it is served from memory', async () => {
    const { store, load } = versionedStore();
    const cache = new NoticeInvalidatedCache({ inStep: async () => true });
    await cache.read('page', load);

    store.version = 2; // written, but its notice not sent yet

    expect(await cache.read('page', load)).toBe(1);
    expect(store.loads).toBe(1);
  });

  it('given an answer held, when a notice comes, then the next read loads the new version', async () => {
    const { store, load } = versionedStore();
    const cache = new NoticeInvalidatedCache({ inStep: async () => true });
    await cache.read('page', load);

    store.version = 2;
    cache.invalidate();

    expect(await cache.read('page', load)).toBe(2);
    expect(store.loads).toBe(2);
  });

  it('given a load under way, when a notice comes before it ends, then its answer is not kept', async () => {
    const { store } = versionedStore();
    const cache = new NoticeInvalidatedCache({ inStep: async () => true });
    let finish = () => {};
    const slow = cache.read('page', () => new Promise<number>((resolve) => (finish = () => resolve(store.version))));
    await Promise.resolve();
    await Promise.resolve();

    cache.invalidate();
    store.version = 2;
    finish();

    expect(await slow).toBe(2);
    expect(await cache.read('page', async () => 3)).toBe(3);
  });

  it('given readers that come while an answer loads, when it ends, then they all get that one load', async () => {
    const { store, load } = versionedStore();
    const cache = new NoticeInvalidatedCache({ inStep: async () => true });

    const answers = await Promise.all([cache.read('page', load), cache.read('page', load), cache.read('page', load)]);

    expect(answers).toEqual([1, 1, 1]);
    expect(store.loads).toBe(1);
  });

  it('given the notices cannot be vouched for (NATS away), when a page is read, then it is loaded and nothing held is served', async () => {
    const { store, load } = versionedStore();
    let inStep = true;
    const cache = new NoticeInvalidatedCache({ inStep: async () => inStep });
    await cache.read('page', load);

    inStep = false;
    store.version = 2;

    expect(await cache.read('page', load)).toBe(2);
    inStep = true;
    expect(await cache.read('page', load)).toBe(2);
    expect(store.loads).toBe(3);
  });

  it('given an answer older than the time to live, when it is read, then it is loaded again', async () => {
    const { store, load } = versionedStore();
    let now = 0;
    const cache = new NoticeInvalidatedCache({ inStep: async () => true, ttlMs: 1_000, now: () => now });
    await cache.read('page', load);

    store.version = 2;
    now = 1_000;

    expect(await cache.read('page', load)).toBe(2);
  });

  it('given the cache is full, when one more answer is loaded, then the least recently read one is dropped', async () => {
    const cache = new NoticeInvalidatedCache({ inStep: async () => true, maxEntries: 2 });
    await cache.read('a', async () => 'a');
    await cache.read('b', async () => 'b');
    await cache.read('a', async () => 'a again');

    await cache.read('c', async () => 'c');

    expect(cache.size).toBe(2);
    expect(await cache.read('a', async () => 'a loaded')).toBe('a');
    expect(await cache.read('b', async () => 'b loaded')).toBe('b loaded');
  });

  it('given a load that fails, when the page is read again, then it is loaded again', async () => {
    const cache = new NoticeInvalidatedCache({ inStep: async () => true });
    await expect(cache.read('page', async () => Promise.reject(new Error('MongoDB away')))).rejects.toThrow('MongoDB away');

    expect(await cache.read('page', async () => 'loaded')).toBe('loaded');
  });
});
