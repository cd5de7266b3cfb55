/** Where an engine is in its lifecycle: the runtime machine's states, which the daemon's lifecycle shares. */
export const RUNTIME_STATES = ['starting', 'running', 'draining', 'stopped', 'failed'] as const;
/** Where an engine is in its lifecycle (one of {@link RUNTIME_STATES}). */
export type RuntimeState = (typeof RUNTIME_STATES)[number];
