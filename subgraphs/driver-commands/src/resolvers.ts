import {
  checkPlausibleMove,
  driverDecider,
  forbidden,
  validDriverLocation,
  validId,
  type DriverCommand,
  type DriverState,
  type MovementLimits,
  type Vehicle,
} from '@happyride/domain';
import { commandHandler, type CommandHandler, type CommandOutcome, type DriverLocationStore, type EventStore } from '@happyride/eventstore';
import { commandMutation, DateTimeScalar, idempotent, requireActor, type CommandContext } from '@happyride/platform';
import type {
  MutationGoOfflineArgs,
  MutationRegisterDriverArgs,
  MutationUpdateDriverDetailsArgs,
  MutationUpdateDriverLocationArgs,
  Resolvers,
  UpdateDriverLocationInput,
  VehicleInput,
} from './generated/resolvers-types.ts';
import type { RegisteredDrivers } from './registered-drivers.ts';

export type DriverCommandsContext = CommandContext<{
  drivers: CommandHandler<DriverCommand, DriverState>;
  locations: DriverLocationStore;
  registered: RegisteredDrivers;
  /** How fast a driver may appear to move between two location reports. */
  movement: MovementLimits;
}>;

/** The driver aggregate's command handler, bound once to the store. */
export const driverCommands = (store: EventStore) => commandHandler({ store, aggregateType: 'driver', decider: driverDecider });

function payload(id: string, { state, version }: CommandOutcome<DriverState>, ctx: DriverCommandsContext) {
  if (state.status !== 'registered') throw new Error(`driver ${id} has no state after a command`);
  ctx.registered.remember(id);
  return { id, version, name: state.name, vehicle: state.vehicle, online: state.online };
}

/** One mutation: `input` is what the client sent (the idempotency fingerprint), `data` the command's. */
const execute = commandMutation({
  handler: (ctx: DriverCommandsContext) => ctx.drivers,
  aggregateId: (data: DriverCommand['data']) => validId(data.driverId, 'driverId'),
  payload,
});

/**
 * Locations skip the event log: check the caller, validate, check the move is plausible from the
 * last report (no teleporting next to passengers to win offers), and keep the latest in the KV store.
 */
async function updateLocation(input: UpdateDriverLocationInput, ctx: DriverCommandsContext) {
  const actor = requireActor(ctx.actor);
  if (actor.role !== 'driver') throw forbidden('Only a driver reports their location: sign in with the driver role.');
  const location = validDriverLocation(actor.id, input, ctx.now().toISOString());
  await ctx.registered.require(location.driverId);
  checkPlausibleMove(await ctx.locations.get(location.driverId), location, ctx.movement, 'location');
  await ctx.locations.put(location);
  return { id: location.driverId, ...location.position, at: location.at };
}

const callerId = (ctx: DriverCommandsContext) => requireActor(ctx.actor).id;
const vehicleOf = (input: VehicleInput): Vehicle => ({ plate: input.plate, model: input.model });

export const resolvers = {
  DateTime: DateTimeScalar,
  Mutation: {
    registerDriver: (_: unknown, { input }: MutationRegisterDriverArgs, ctx: DriverCommandsContext) =>
      execute('registerDriver', input, 'RegisterDriver', { driverId: callerId(ctx), name: input.name, vehicle: vehicleOf(input.vehicle) }, ctx),
    updateDriverDetails: (_: unknown, { input }: MutationUpdateDriverDetailsArgs, ctx: DriverCommandsContext) =>
      execute(
        'updateDriverDetails',
        input,
        'UpdateDriverDetails',
        {
          driverId: input.driverId ?? callerId(ctx),
          ...(input.name != null ? { name: input.name } : {}),
          ...(input.vehicle ? { vehicle: vehicleOf(input.vehicle) } : {}),
        },
        ctx,
      ),
    goOnline: (_: unknown, _args: unknown, ctx: DriverCommandsContext) => execute('goOnline', {}, 'GoOnline', { driverId: callerId(ctx) }, ctx),
    goOffline: (_: unknown, { input }: MutationGoOfflineArgs, ctx: DriverCommandsContext) =>
      execute('goOffline', input ?? {}, 'GoOffline', { driverId: input?.driverId ?? callerId(ctx) }, ctx),
    updateDriverLocation: (_: unknown, { input }: MutationUpdateDriverLocationArgs, ctx: DriverCommandsContext) =>
      idempotent(ctx, 'updateDriverLocation', input, () => updateLocation(input, ctx)),
  },
} satisfies Resolvers;
