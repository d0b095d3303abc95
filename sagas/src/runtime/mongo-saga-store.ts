import type { Collection, Db } from 'mongodb';
import { isDuplicateKey, MAJORITY_WRITES } from '@happyride/platform';
import type { SagaCommandBase } from './saga.ts';

/** A command waiting in an instance's outbox, with the input that caused it. */
export type PendingCommand<C extends SagaCommandBase = SagaCommandBase> = C & { causationId: string };

/** A change to the instance's deadlines, waiting in its outbox like a command. */
export type PendingDeadline = { op: 'schedule'; name: string; dueAt: Date } | { op: 'cancel'; name: string };

/**
 * One saga instance (collection `saga_instances`). Written whole after every step, guarded by
 * `version`; `pending` and `pendingDeadlines` are its outbox: effects decided and persisted,
 * not yet known to be carried out. They are removed once carried out, so a crash in between
 * carries them out again, with the same ids.
 */
export interface SagaInstanceDocument<S = unknown, C extends SagaCommandBase = SagaCommandBase> {
  _id: string;
  saga: string;
  state: S;
  associations: string[];
  /** Ids of the inputs already decided: a redelivered one is ignored. */
  handledInputs: string[];
  ended: boolean;
  version: number;
  pending: PendingCommand<C>[];
  pendingDeadlines: PendingDeadline[];
  /** `pending` or `pendingDeadlines` is not empty. */
  hasPending: boolean;
  /**
   * The saga's name while `hasPending`, else null (set by `save`): what the sweeper looks up, one
   * string field, which FerretDB answers from its index (it pushes down no other filter shape).
   * Absent on instances written before it existed: the start-up sweep finds those by `hasPending`.
   */
  pendingOf?: string | null;
  /**
   * `saga|association` for each association while the instance runs, null once ended (set by
   * `save`): what `findLive` looks up. FerretDB answers it from the index on this one field, and
   * the index holds arrays only for running instances, so a lookup reads the running ones, never
   * the history.
   */
  liveKeys?: string[] | null;
  /**
   * When the instance ended (set by `save`), else null: its history (instance, transitions,
   * deadlines) is pruned a retention after it (`pruneEnded`). Absent on instances written before
   * it existed: `ensureIndexes` sets it from `updatedAt` on ended ones.
   */
  endedAt?: Date | null;
  /** The correlation id of the input that started the instance, carried by all its commands. */
  correlationId: string;
  startedAt: Date;
  updatedAt: Date;
}

/** One armed deadline (collection `saga_deadlines`); whichever worker claims it first fires it. */
export interface SagaDeadlineDocument {
  _id: string;
  saga: string;
  sagaId: string;
  name: string;
  dueAt: Date;
  /** The saga's name until the deadline fired, then null: what the poll looks up (index-backed, like `pendingOf`). */
  armedOf?: string | null;
  claimedBy?: string;
  claimedAt?: Date;
  firedAt?: Date;
  firedBy?: string;
}

export const deadlineId = (sagaId: string, name: string) => `${sagaId}:${name}`;

const liveKey = (saga: string, association: string) => `${saga}|${association}`;

/**
 * One step of one instance (collection `saga_transitions`): the whole instance as written at
 * `version`, keyed `${sagaId}:${version}`. Inserting it is the version guard: of two writers
 * deciding on the same version, the unique `_id` lets exactly one in.
 */
export interface SagaTransitionDocument {
  _id: string;
  sagaId: string;
  version: number;
  doc: SagaInstanceDocument;
}

/** A claim of a deadline for one lease window (collection `saga_deadline_claims`). */
interface SagaDeadlineClaimDocument {
  _id: string;
  workerId: string;
  claimedAt: Date;
}


/**
 * Saga instances and deadlines in MongoDB (FerretDB v1 too): no transactions, no change streams.
 *
 * Mutual exclusion rests on unique `_id` inserts only. A conditional `updateOne` is enough on
 * MongoDB, but FerretDB v1 (SQLite backend) does not check the filter and write atomically:
 * 8 concurrent `updateOne({ _id, version: 1 }, …)` reported up to 8 matches when measured,
 * while 8 concurrent inserts of one `_id` let exactly one in (runner.int.spec.ts checks `save`). So a step is
 * committed by inserting its transition (`saga_transitions`, `_id: sagaId:version`), then
 * copied onto `saga_instances`, which readers roll forward from the transitions: a writer that
 * died between the two, or a stale copy, is repaired by the next `load`. A deadline is claimed
 * by inserting `deadlineId@leaseWindow` into `saga_deadline_claims`.
 */
export class MongoSagaStore {
  readonly instances: Collection<SagaInstanceDocument>;
  readonly deadlines: Collection<SagaDeadlineDocument>;
  readonly transitions: Collection<SagaTransitionDocument>;
  readonly #claims: Collection<SagaDeadlineClaimDocument>;

  constructor(
    db: Db,
    {
      instances = 'saga_instances',
      deadlines = 'saga_deadlines',
      transitions = 'saga_transitions',
      claims = 'saga_deadline_claims',
    }: { instances?: string; deadlines?: string; transitions?: string; claims?: string } = {},
  ) {
    this.instances = db.collection<SagaInstanceDocument>(instances, MAJORITY_WRITES);
    this.deadlines = db.collection<SagaDeadlineDocument>(deadlines, MAJORITY_WRITES);
    this.transitions = db.collection<SagaTransitionDocument>(transitions, MAJORITY_WRITES);
    this.#claims = db.collection<SagaDeadlineClaimDocument>(claims, MAJORITY_WRITES);
  }

  /** Run once at start-up (and before tests): creates the collections and their indexes. */
  async ensureIndexes(): Promise<void> {
    // One index per call: FerretDB v1 drops the connection when one call names several indexes
    // of which some exist already, i.e. on every restart of a worker.
    await this.instances.createIndexes([{ key: { liveKeys: 1 }, name: 'saga_live' }]);
    await this.instances.createIndexes([{ key: { pendingOf: 1 }, name: 'saga_outbox' }]);
    await this.deadlines.createIndexes([{ key: { armedOf: 1 }, name: 'saga_armed' }]);
    // Also creates these collections up front, before workers race to insert into them.
    await this.transitions.createIndexes([{ key: { sagaId: 1, version: 1 }, name: 'saga_versions' }]);
    await this.#claims.createIndexes([{ key: { workerId: 1 }, name: 'claims_by_worker' }]);
    await this.instances.createIndexes([{ key: { endedAt: 1 }, name: 'saga_ended' }]);
    await this.deadlines.createIndexes([{ key: { sagaId: 1 }, name: 'deadlines_by_saga' }]);
    // Ended instances written before `endedAt` existed: marked once (a scan, at start only), so they are pruned too.
    for (const legacy of await this.instances.find({ ended: true, endedAt: { $exists: false } }, { projection: { updatedAt: 1 } }).toArray()) {
      await this.instances.updateOne({ _id: legacy._id, endedAt: { $exists: false } }, { $set: { endedAt: legacy.updatedAt } });
    }
    // Instances and deadlines written before `liveKeys` and `armedOf` existed: marked once (a scan, at start only).
    for (const legacy of await this.instances.find({ ended: false, liveKeys: { $exists: false } }, { projection: { saga: 1, associations: 1 } }).toArray()) {
      const liveKeys = legacy.associations.map((association) => liveKey(legacy.saga, association));
      await this.instances.updateOne({ _id: legacy._id, ended: false, liveKeys: { $exists: false } }, { $set: { liveKeys } });
    }
    // Deadlines armed before `armedOf` existed: marked once (a scan of the deadlines, at start only).
    for (const legacy of await this.deadlines.find({ armedOf: { $exists: false }, firedAt: { $exists: false } }, { projection: { saga: 1 } }).toArray()) {
      await this.deadlines.updateOne({ _id: legacy._id, armedOf: { $exists: false }, firedAt: { $exists: false } }, { $set: { armedOf: legacy.saga } });
    }
  }

  /** The instance at its latest committed version (rolled forward from its transitions). */
  async load<S, C extends SagaCommandBase>(sagaId: string): Promise<SagaInstanceDocument<S, C> | null> {
    let doc = await this.instances.findOne({ _id: sagaId });
    for (;;) {
      const next = await this.transitions.findOne({ _id: `${sagaId}:${(doc?.version ?? 0) + 1}` });
      if (!next) return doc as SagaInstanceDocument<S, C> | null;
      doc = next.doc;
      await this.#copy(doc);
    }
  }

  /** Live instances of a saga associated with any of these keys. */
  async findLive(saga: string, associations: readonly string[]): Promise<string[]> {
    if (associations.length === 0) return [];
    const keys = associations.map((association) => liveKey(saga, association));
    const docs = await this.instances.find({ liveKeys: { $in: keys } }, { projection: { _id: 1 } }).toArray();
    return docs.map((doc) => doc._id);
  }

  /**
   * Instances whose outbox is not empty (after a crash, or a failed execution), from the
   * `pendingOf` index; with `legacy`, also those written before `pendingOf` existed (a scan of
   * the instances: once, at start).
   */
  async withPending(saga: string, options: { limit?: number; legacy?: boolean } = {}): Promise<string[]> {
    return (await this.pendingOutboxes(saga, options)).map((doc) => doc._id);
  }

  /** Like `withPending`, with when each instance was last written (a worker carrying its outbox out writes it after every command). */
  async pendingOutboxes(saga: string, { limit = 100, legacy = false }: { limit?: number; legacy?: boolean } = {}): Promise<{ _id: string; updatedAt: Date }[]> {
    const filter = legacy ? { saga, hasPending: true } : { pendingOf: saga };
    return this.instances.find(filter, { projection: { _id: 1, updatedAt: 1 } }).limit(limit).toArray();
  }

  /**
   * Writes `next` if the stored instance is still at `expectedVersion` (0: not stored yet).
   * @returns false when another writer got there first: reload and decide again.
   */
  async save<S, C extends SagaCommandBase>(next: SagaInstanceDocument<S, C>, expectedVersion: number): Promise<boolean> {
    const doc = {
      ...next,
      version: expectedVersion + 1,
      pendingOf: next.hasPending ? next.saga : null,
      liveKeys: next.ended ? null : next.associations.map((association) => liveKey(next.saga, association)),
      endedAt: next.ended ? (next.endedAt ?? next.updatedAt) : null,
    } as SagaInstanceDocument;
    try {
      await this.transitions.insertOne({ _id: `${doc._id}:${doc.version}`, sagaId: doc._id, version: doc.version, doc });
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
    await this.#copy(doc);
    return true;
  }

  /** Copies a committed version onto `saga_instances` (the queryable view), never backwards. */
  async #copy(doc: SagaInstanceDocument): Promise<void> {
    const { _id, ...fields } = doc;
    const updated = await this.instances.updateOne({ _id, version: { $lt: doc.version } }, { $set: fields });
    if (updated.matchedCount > 0) return;
    // Not there yet: insert (an upsert with $setOnInsert drops empty arrays on FerretDB v1).
    try {
      await this.instances.insertOne(doc);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error; // there already, at this version or a later one
    }
  }

  /** Arms a deadline once: carrying the same outbox entry out again (or twice at once) changes nothing. */
  async scheduleDeadline(saga: string, sagaId: string, name: string, dueAt: Date): Promise<void> {
    const _id = deadlineId(sagaId, name);
    try {
      await this.deadlines.updateOne({ _id }, { $setOnInsert: { _id, saga, sagaId, name, dueAt, armedOf: saga } }, { upsert: true });
    } catch (error) {
      // Two workers arming it at once: one upsert inserts, the other may fail on the key. Armed either way.
      if (!isDuplicateKey(error)) throw error;
    }
  }

  async cancelDeadline(sagaId: string, name: string): Promise<void> {
    await this.deadlines.deleteOne({ _id: deadlineId(sagaId, name), firedAt: { $exists: false } });
  }

  /**
   * The saga's deadlines that have not fired, soonest first: from the `armedOf` index, so as
   * many as are armed (trips in flight), never the history.
   */
  async armedDeadlines(saga: string): Promise<SagaDeadlineDocument[]> {
    const armed = await this.deadlines.find({ armedOf: saga }).toArray();
    return armed.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime());
  }

  /** Deadlines due at `now` that have not fired, oldest first. */
  async dueDeadlines(saga: string, now: Date, limit = 100): Promise<SagaDeadlineDocument[]> {
    return (await this.armedDeadlines(saga)).filter((deadline) => deadline.dueAt <= now).slice(0, limit);
  }

  /**
   * Claims a due deadline for one worker: one claim per lease window after it was due, so a
   * worker that claimed it and died is relieved `leaseMs` later. Only one insert per window wins.
   */
  async claimDeadline(deadline: SagaDeadlineDocument, workerId: string, now: Date, leaseMs: number): Promise<boolean> {
    const window = Math.max(0, Math.floor((now.getTime() - deadline.dueAt.getTime()) / leaseMs));
    try {
      await this.#claims.insertOne({ _id: `${deadline._id}@${window}`, workerId, claimedAt: now });
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
    await this.deadlines.updateOne({ _id: deadline._id }, { $set: { claimedBy: workerId, claimedAt: now } });
    return true;
  }

  /**
   * Deletes the history of instances that ended before `before` with nothing left in their
   * outbox: their transitions and deadlines first, the instance last, so a crash in between
   * leaves an ended instance that the next round prunes (and `load` never rolls a pruned
   * instance back up from transitions). Every delete is idempotent, so workers pruning at once,
   * or again after a restart, agree. Also drops deadline claims made before `before`.
   * @returns how many instances were pruned (at most `limit`: call again while it is `limit`).
   */
  async pruneEnded(before: Date, limit = 100): Promise<number> {
    // An ended instance with an outbox left is not history yet: the sweep carries it out first.
    const ended = await this.instances.find({ endedAt: { $lt: before }, hasPending: false }, { projection: { _id: 1 } }).limit(limit).toArray();
    for (const { _id } of ended) {
      await this.transitions.deleteMany({ sagaId: _id });
      await this.deadlines.deleteMany({ sagaId: _id });
      await this.instances.deleteOne({ _id, endedAt: { $lt: before }, hasPending: false });
    }
    await this.#claims.deleteMany({ claimedAt: { $lt: before } });
    return ended.length;
  }

  async markFired(id: string, workerId: string, at: Date): Promise<void> {
    await this.deadlines.updateOne({ _id: id }, { $set: { firedAt: at, firedBy: workerId, armedOf: null } });
  }
}
