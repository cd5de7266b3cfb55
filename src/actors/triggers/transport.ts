/**
 * What the trigger component needs of a message system, without naming one: subscribe to a subject, or consume a
 * subject through a durable consumer of a stream. The NATS edge provides it (`src/edges/nats/triggers.ts`) when the
 * engine has a NATS connection; without one, NATS triggers are stored but not listening.
 */

/** One message, as a trigger sees it. */
export interface TriggerMessage {
  subject: string;
  /** The raw payload. */
  data: Uint8Array;
  headers: Record<string, string>;
  /** For a stream's message: its stream and sequence (a redelivered message has the same ones). */
  stream?: string;
  seq?: number;
  /** Acknowledges a stream's message (a no-op for core NATS). */
  ack(): void;
  /** Asks for a stream's message again later (a no-op for core NATS). */
  nak(): void;
}

/** Handles one message of a trigger; for a stream message it calls `ack()` or `nak()` itself. */
export type TriggerHandler = (message: TriggerMessage) => Promise<void>;

/** A subscription or consumer; `stop` ends it (a durable consumer keeps its place on the server). */
export interface TriggerListening {
  /** Ends the subscription or consumer. */
  stop(): void;
}

/** Where triggers listen: core NATS subscriptions and JetStream consumers (NATS's `natsTriggerTransport`, or your own). */
export interface TriggerTransport {
  /** Where it is connected, for status views. */
  readonly description: string;
  /** A core subscription (wildcards allowed); messages sent while nobody listens are lost (NATS's rule). */
  subscribe(subject: string, handler: TriggerHandler): TriggerListening;
  /**
   * A durable consumer named `durable` on `stream` (or on the stream whose subjects cover `subject`, when `stream`
   * is true), filtered to `subject`, acknowledged explicitly. Rejects naming the stream when it does not exist.
   */
  consume(
    options: { subject: string; stream: string | true; durable: string },
    handler: TriggerHandler,
  ): Promise<TriggerListening & { stream: string }>;
}
