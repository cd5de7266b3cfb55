/** Where an engine is in its lifecycle (the runtime machine's states, DESIGN.md §8 and the daemon's lifecycle). */
export type RuntimeState = 'starting' | 'running' | 'draining' | 'stopped' | 'failed';
