import { randomUUID } from 'node:crypto';
import { eventually, graphqlClient, tokenFor } from './graphql-client.ts';

export interface Position {
  lng: number;
  lat: number;
}

/** A random place away from every other test's drivers (the event log is shared by the run). */
export function somewhereNew(): Position {
  return { lng: -100 + Math.random() * 200, lat: -50 + Math.random() * 100 };
}

/** `km` north and `eastKm` east of `from`, near enough on a sphere for tests. */
export function offset(from: Position, northKm: number, eastKm = 0): Position {
  return { lat: from.lat + northKm / 111.19508, lng: from.lng + eastKm / (111.19508 * Math.cos((from.lat * Math.PI) / 180)) };
}

/** People and trips through the gateway's public API, as the apps would. */
export function dispatchActors(gatewayUrl: string) {
  const gql = graphqlClient(gatewayUrl);
  const must = async <T>(query: string, token: string, variables?: Record<string, unknown>) => {
    const response = await gql<T>(query, { token, variables: variables ?? {} });
    if (response.errors?.length) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(response.errors)}`);
    return response.data as T;
  };
  const adminToken = tokenFor('admin', 'ops');

  return {
    gql,
    must,
    adminToken,
    /** A registered driver, online at `position`, once the dispatch index can know them. */
    async onlineDriver(position: Position, name = 'Bo') {
      const id = `d-${randomUUID().slice(0, 8)}`;
      const token = await tokenFor('driver', id);
      await must('mutation ($n: String!) { registerDriver(input: { name: $n, vehicle: { plate: "AB 123", model: "BYD Qin" } }) { id } }', token, { n: name });
      await must('mutation { goOnline { id } }', token);
      await must('mutation ($p: UpdateDriverLocationInput!) { updateDriverLocation(input: $p) { id } }', token, { p: position });
      return { id, token, position };
    },
    async passenger(name = 'Ada') {
      const id = `p-${randomUUID().slice(0, 8)}`;
      const token = await tokenFor('passenger', id);
      await must('mutation ($n: String!) { registerPassenger(input: { name: $n }) { id } }', token, { n: name });
      return { id, token };
    },
    /** A short trip (no payment needed), requested by `token`. */
    async requestTrip(token: string, start: Position) {
      const data = await must<{ requestTrip: { id: string } }>(
        'mutation ($s: PositionInput!, $e: PositionInput!) { requestTrip(input: { start: $s, end: $e }) { id } }',
        token,
        { s: start, e: offset(start, 2) },
      );
      return data.requestTrip.id;
    },
    /** The trip as the read model has it; null while it is not projected yet. */
    async tripOf(tripId: string) {
      const response = await gql<{ trip: { id: string; state: string; driverId: string | null; driverName: string | null } | null }>(
        'query ($t: ID!) { trip(id: $t) { id state driverId driverName } }',
        { token: await adminToken, variables: { t: tripId } },
      );
      if (response.errors?.some((e) => e.extensions?.code !== 'NOT_FOUND')) throw new Error(JSON.stringify(response.errors));
      return response.data?.trip ?? null;
    },
    async waitForState(tripId: string, states: readonly string[], timeoutMs = 60_000) {
      const trip = await eventually(() => this.tripOf(tripId), (t) => t !== null && states.includes(t.state), timeoutMs);
      if (!trip || !states.includes(trip.state)) throw new Error(`trip ${tripId} is ${trip?.state ?? 'missing'}, not ${states.join('/')}`);
      return trip;
    },
    accept(token: string, tripId: string, position: Position) {
      return gql('mutation ($t: ID!, $p: PositionInput!) { acceptTrip(input: { tripId: $t, position: $p }) { id } }', { token, variables: { t: tripId, p: position } });
    },
  };
}
