/**
 * Handler maps for bus tests that care about transport rather than replies: every command of a component answered
 * by one function that sees the command (type and payload) and may reply anything.
 */
import type { CommandHandlers } from '../../src/bus/bus.js';
import type { CommandOf, CommandPayload, Component } from '../../src/bus/protocol.js';
import { componentOf } from '../../src/bus/protocol.js';
import { COMMAND_TYPES } from '../../src/bus/schemas.js';

/** A command as a test handler sees it. */
export type SeenCommand<C extends Component = Component> = {
  [K in CommandOf<C>]: { type: K; payload: CommandPayload<K> };
}[CommandOf<C>];

/** Every command of `component` answered by `answer` (its reply is not checked: tests send odd ones on purpose). */
export function answering<C extends Component>(
  component: C,
  answer: (command: SeenCommand<C>) => unknown,
): CommandHandlers<C> {
  const handlers: Record<string, (payload: unknown) => unknown> = {};
  for (const type of COMMAND_TYPES) {
    if (componentOf(type) === component) handlers[type] = (payload) => answer({ type, payload } as SeenCommand<C>);
  }
  return handlers as unknown as CommandHandlers<C>;
}
