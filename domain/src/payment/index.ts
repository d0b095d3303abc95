import type { Decider } from '../decider.ts';
import type { PaymentCommand } from './commands.ts';
import { decidePayment } from './decide.ts';
import type { PaymentEvent } from './events.ts';
import { evolvePayment, initialPaymentState, type PaymentState } from './evolve.ts';

export { paymentOutcomes, type PaymentCommand, type PaymentCommandType, type PaymentOutcome } from './commands.ts';
export type { PaymentEvent } from './events.ts';
export { paymentStatuses, type Payment, type PaymentState, type PaymentStatus } from './evolve.ts';

export const paymentDecider: Decider<PaymentCommand, PaymentEvent, PaymentState> = {
  decide: decidePayment,
  evolve: evolvePayment,
  initialState: initialPaymentState,
};
