import type {
  AppendToStreamOptions,
  AppendToStreamResultWithGlobalPosition,
  Event,
  EventStore as EmmettEventStore,
  ReadEventMetadataWithGlobalPosition,
} from "@event-driven-io/emmett";
import type { EventStore } from "./index.js";

export { isEventfoldError } from "./index.js";

/**
 * The read metadata of every event read through the adapter, merged over the event's own
 * metadata: `messageId` (the eventfold event id), `streamName`, `streamPosition` (the eventfold
 * `version`, 1-based) and `globalPosition` (the eventfold `position`; `0n` for an event still
 * pending on a synced store).
 */
export type EventfoldReadEventMetadata = ReadEventMetadataWithGlobalPosition;

/**
 * Emmett's `EventStore` backed by eventfold. Stream versions are Emmett's: the number of events
 * in the stream, `0n` when it does not exist. `appendToStream` also returns the global position
 * of the last event appended.
 */
export interface EventfoldEmmettEventStore extends EmmettEventStore<EventfoldReadEventMetadata> {
  appendToStream<EventType extends Event, EventPayloadType extends Event = EventType>(
    streamName: string,
    events: EventType[],
    options?: AppendToStreamOptions<bigint, EventType, EventPayloadType>,
  ): Promise<AppendToStreamResultWithGlobalPosition>;
}

/** The part of an eventfold `EventStore` the adapter calls. */
export type EventfoldStore = Pick<EventStore, "append" | "readStream" | "streamVersion">;

/**
 * Emmett's `EventStore` over an eventfold store (`EventStore.inMemory()`, `EventStore.open()`,
 * synced or not). Throws `INVALID_INPUT` when `store` is not one.
 *
 * ```ts
 * import { EventStore } from "eventfold";
 * import { getEventfoldEventStore } from "eventfold/emmett";
 * const eventStore = getEventfoldEventStore(await EventStore.open({ name: "shop" }));
 * ```
 */
export declare function getEventfoldEventStore(store: EventfoldStore): EventfoldEmmettEventStore;
