import type { Collection, Db } from 'mongodb';

const bound = (target: object, property: string | symbol): unknown => {
  const value: unknown = Reflect.get(target, property, target);
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
};

/**
 * The same database (real server, real collections), except that the first `bulkWrite` sent
 * through it from now on first waits for `meanwhile`: a writer frozen between the read of its
 * batch and its write (a projector stopped past its lease), while others go on.
 */
export function frozenBeforeWrite(db: Db, meanwhile: () => Promise<void>): Db {
  let pending: (() => Promise<void>) | null = meanwhile;
  const collection = (name: string) =>
    new Proxy(db.collection(name), {
      get(target, property) {
        if (property !== 'bulkWrite') return bound(target, property);
        return async (...args: Parameters<Collection['bulkWrite']>) => {
          const run = pending;
          pending = null;
          await run?.();
          return target.bulkWrite(...args);
        };
      },
    });
  return new Proxy(db, { get: (target, property) => (property === 'collection' ? collection : bound(target, property)) });
}
