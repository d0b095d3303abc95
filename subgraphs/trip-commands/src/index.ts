export { TripInternalCommands, SYSTEM_ACTOR, type InternalCommandContext } from './internal-commands.ts';
export { tripPayload, type TripPayload } from './resolvers.ts';
