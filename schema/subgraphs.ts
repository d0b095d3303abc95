/**
 * The subgraphs the gateway federates: their SDL files and where they listen by default.
 * The gateway reads `<NAME>_URL` (e.g. `PASSENGER_COMMANDS_URL`) to point elsewhere.
 */
export interface SubgraphEntry {
  name: string;
  /** SDL file, relative to the repository root. */
  sdl: string;
  defaultPort: number;
  /** The environment variable with this subgraph's port (its process) and URL (the gateway). */
  envPrefix: string;
}

export const subgraphs: readonly SubgraphEntry[] = [
  { name: 'passenger-commands', sdl: 'subgraphs/passenger-commands/schema.graphql', defaultPort: 4001, envPrefix: 'PASSENGER_COMMANDS' },
  { name: 'profile-queries', sdl: 'subgraphs/profile-queries/schema.graphql', defaultPort: 4002, envPrefix: 'PROFILE_QUERIES' },
  { name: 'driver-commands', sdl: 'subgraphs/driver-commands/schema.graphql', defaultPort: 4003, envPrefix: 'DRIVER_COMMANDS' },
  { name: 'trip-commands', sdl: 'subgraphs/trip-commands/schema.graphql', defaultPort: 4004, envPrefix: 'TRIP_COMMANDS' },
  { name: 'trip-queries', sdl: 'subgraphs/trip-queries/schema.graphql', defaultPort: 4005, envPrefix: 'TRIP_QUERIES' },
];

export const defaultUrl = (entry: SubgraphEntry) => `http://127.0.0.1:${entry.defaultPort}/graphql`;
