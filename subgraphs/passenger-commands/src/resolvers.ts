import { passengerDecider, validId, type PassengerCommand, type PassengerState } from '@happyride/domain';
import { handleCommand, type CommandOutcome } from '@happyride/eventstore';
import { requireActor, type CommandContext } from '@happyride/platform';
import { randomUUID } from 'node:crypto';

export type PassengerCommandsContext = CommandContext;

type CommandFor<T extends PassengerCommand['type']> = Extract<PassengerCommand, { type: T }>;

async function execute<T extends PassengerCommand['type']>(
  type: T,
  data: CommandFor<T>['data'],
  ctx: PassengerCommandsContext,
) {
  const actor = requireActor(ctx.actor);
  const command = {
    type,
    data,
    metadata: { commandId: randomUUID(), actor, now: ctx.now().toISOString() },
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
    registerPassenger: (_: unknown, { input }: { input: { name: string } }, ctx: PassengerCommandsContext) =>
      execute('RegisterPassenger', { passengerId: callerId(ctx), name: input.name }, ctx),
    updatePassengerDetails: (
      _: unknown,
      { input }: { input: { name: string; passengerId?: string | null } },
      ctx: PassengerCommandsContext,
    ) => execute('UpdatePassengerDetails', { passengerId: input.passengerId ?? callerId(ctx), name: input.name }, ctx),
    banPassenger: (_: unknown, { input }: { input: { passengerId: string } }, ctx: PassengerCommandsContext) =>
      execute('BanPassenger', { passengerId: input.passengerId }, ctx),
    unbanPassenger: (_: unknown, { input }: { input: { passengerId: string } }, ctx: PassengerCommandsContext) =>
      execute('UnbanPassenger', { passengerId: input.passengerId }, ctx),
  },
};
