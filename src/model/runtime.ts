/** Where an engine is in its lifecycle: the runtime machine's states, which the daemon's lifecycle shares. */
export type RuntimeState = 'starting' | 'running' | 'draining' | 'stopped' | 'failed';
