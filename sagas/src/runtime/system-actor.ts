import type { Actor } from '@happyride/domain';

/** The actor of every command a saga or dispatch sends: internal, never from a token. */
export const SYSTEM_ACTOR: Actor = { id: 'system', role: 'system' };
