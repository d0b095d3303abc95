import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { swapGeneration } from './read-model-generations.ts';

// Watches the commands on the wire: what a replica set would be asked for, on the embedded server too.
const started: CommandStartedEvent[] = [];
let client: MongoClient;

beforeAll(async () => {
  client = new MongoClient(inject('mongoUrl'), { monitorCommands: true });
  client.on('commandStarted', (event) => started.push(event));
  await client.connect();
});

afterAll(async () => {
  await client.close();
});

const writeConcernOf = (commandName: string, collection: string) =>
  started.filter((event) => event.commandName === commandName && event.command[commandName] === collection).map((event) => event.command.writeConcern);

describe('writes nothing could rebuild ask a replica set for a majority', () => {
  it('given the generation pointer of a read model, when it is swapped, then the update carries w: majority (a pointer rolled back by a failover would serve a dropped generation)', async () => {
    // given
    const db = client.db(`test-majority-${randomUUID().slice(0, 8)}`);

    // when
    await swapGeneration(db, 'passengers', 1);

    // then
    expect(writeConcernOf('update', 'read_model_generations')).toEqual([{ w: 'majority' }]);
    await db.dropDatabase();
  });
});
