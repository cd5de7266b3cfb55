/**
 * The `codomyrmex/nats` entry: the NATS bus and the bridge that puts a local bus on NATS. Separate from the main
 * entry so that importing codomyrmex does not load the NATS client.
 *
 * @example
 * import { NatsBus, bridgeToNats } from 'codomyrmex/nats';
 * const nats = await NatsBus.connect({ servers: 'nats://127.0.0.1:4222' });
 * const stop = bridgeToNats(engine.bus, nats);
 *
 * @module codomyrmex/nats
 */
export { NatsBus } from './nats.js';
export type { NatsBusOptions, NatsConnectOptions, NatsBusStatus } from './nats.js';
export { bridgeToNats } from './bridge.js';
export type { BridgeOptions } from './bridge.js';
export type { EventChannelCounters } from './natsEvents.js';
export { DEFAULT_SUBJECT_PREFIX } from './wire.js';
export type { ReplyEnvelope } from './wire.js';
export type { SerializedError } from '../errors.js';
