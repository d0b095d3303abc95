import { passengerDecider, validId, type PassengerCommand, type PassengerState } from '@happyride/domain';
import { commandHandler, type CommandHandler, type CommandOutcome, type EventStore } from '@happyride/eventstore';
import { commandMutation, requireActor, type CommandContext } from '@happyride/platform';
import type {
  MutationBanPassengerArgs,
  MutationRegisterPassengerArgs,
  MutationUnbanPassengerArgs,
  MutationUpdatePassengerDetailsArgs,
  Resolvers,
} from './generated/resolvers-types.ts';

export type PassengerCommandsContext = CommandContext<{ passengers: CommandHandler<PassengerCommand, PassengerState> }>;

/** The passenger aggregate's command handler, bound once to the store. */
export const passengerCommands = (store: EventStore) => commandHandler({ store, aggregateType: 'passenger', decider: passengerDecider });

function payload(id: string, { state, version }: CommandOutcome<PassengerState>) {
  if (state.status !== 'registered') throw new Error(`passenger ${id} has no state after a command`);
  return { id, version, name: state.name, banned: state.banned };
}

/** One mutation: `input` is what the client sent (the idempotency fingerprint), `data` the command's. */
const execute = commandMutation({
  handler: (ctx: PassengerCommandsContext) => ctx.passengers,
  aggregateId: (data: PassengerCommand['data']) => validId(data.passengerId, 'passengerId'),
  payload,
});

const callerId = (ctx: PassengerCommandsContext) => requireActor(ctx.actor).id;

export const resolvers = {
  Mutation: {
    registerPassenger: (_: unknown, { input }: MutationRegisterPassengerArgs, ctx: PassengerCommandsContext) =>
      execute('registerPassenger', input, 'RegisterPassenger', { passengerId: callerId(ctx), name: input.name }, ctx),
    updatePassengerDetails: (_: unknown, { input }: MutationUpdatePassengerDetailsArgs, ctx: PassengerCommandsContext) =>
      execute('updatePassengerDetails', input, 'UpdatePassengerDetails', { passengerId: input.passengerId ?? callerId(ctx), name: input.name }, ctx),
    banPassenger: (_: unknown, { input }: MutationBanPassengerArgs, ctx: PassengerCommandsContext) =>
      execute('banPassenger', input, 'BanPassenger', { passengerId: input.passengerId }, ctx),
    unbanPassenger: (_: unknown, { input }: MutationUnbanPassengerArgs, ctx: PassengerCommandsContext) =>
      execute('unbanPassenger', input, 'UnbanPassenger', { passengerId: input.passengerId }, ctx),
  },
} satisfies Resolvers;
