import { MongoClient, type Db } from 'mongodb';

export interface Mongo {
  client: MongoClient;
  db: Db;
  close(): Promise<void>;
}

/** Connects to a MongoDB-wire server (MongoDB, or FerretDB locally) and checks it answers. */
export async function connectMongo(url: string, database: string, appName: string): Promise<Mongo> {
  const client = new MongoClient(url, { appName, serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  const db = client.db(database);
  await db.command({ ping: 1 });
  return { client, db, close: () => client.close() };
}
