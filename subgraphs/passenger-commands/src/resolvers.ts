import { passengerDecider, validId, type PassengerCommand, type PassengerState } from '@happyride/domain';
import { handleCommand, type CommandOutcome } from '@happyride/eventstore';
import { idempotent, requireActor, type CommandContext } from '@happyride/platform';
import type {
  MutationBanPassengerArgs,
  MutationRegisterPassengerArgs,
  MutationUnbanPassengerArgs,
  MutationUpdatePassengerDetailsArgs,
  Resolvers,
} from './generated/resolvers-types.ts';

export type PassengerCommandsContext = CommandContext;

type CommandFor<T extends PassengerCommand['type']> = Extract<PassengerCommand, { type: T }>;

/** One mutation: `input` is what the client sent (the idempotency fingerprint), `data` the command's. */
function execute<T extends PassengerCommand['type']>(
  mutation: string,
  input: unknown,
  type: T,
  data: CommandFor<T>['data'],
  ctx: PassengerCommandsContext,
) {
  return idempotent(ctx, mutation, input, ({ commandId }) => decideAndAppend(type, data, commandId, ctx));
}

async function decideAndAppend<T extends PassengerCommand['type']>(
  type: T,
  data: CommandFor<T>['data'],
  commandId: string,
  ctx: PassengerCommandsContext,
) {
  const actor = requireActor(ctx.actor);
  const command = {
    type,
    data,
    metadata: { commandId, actor, now: ctx.now().toISOString() },
  } as CommandFor<T>;
  // The id becomes part of a NATS subject: check it before anything is read.
  validId(data.passengerId, 'passengerId');
  const outcome = await handleCommand(ctx.store, 'passenger', data.passengerId, passengerDecider, command, {
    correlationId: ctx.correlationId,
  });
  return payload(data.passengerId, outcome);
}

function payload(id: string, { state, version }: CommandOutcome<PassengerState>) {
  if (state.status !== 'registered') throw new Error(`passenger ${id} has no state after a command`);
  return { id, version, name: state.name, banned: state.banned };
}

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
