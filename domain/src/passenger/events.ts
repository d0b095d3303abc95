/** Everything that can happen to a passenger: the one source of truth for its event types. */
export type PassengerEvent =
  | { type: 'PassengerRegistered'; data: { passengerId: string; name: string } }
  | { type: 'PassengerDetailsUpdated'; data: { passengerId: string; name: string } }
  | { type: 'PassengerBanned'; data: { passengerId: string } }
  | { type: 'PassengerUnbanned'; data: { passengerId: string } };
