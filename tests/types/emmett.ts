// Type-checked with `tsc --noEmit` against the installed package and Emmett: an Emmett app's
// code compiles unchanged on eventfold/emmett, and misuse does not (the @ts-expect-error lines).
import {
  DeciderCommandHandler,
  STREAM_DOES_NOT_EXIST,
  type Event,
  type EventStore as EmmettEventStore,
  type ReadEvent,
} from "@event-driven-io/emmett";
import { EventStore } from "eventfold";
import {
  getEventfoldEventStore,
  isEventfoldError,
  type EventfoldEmmettEventStore,
  type EventfoldReadEventMetadata,
} from "eventfold/emmett";

type ItemAdded = Event<"ItemAdded", { sku: string; qty: number }, { correlationId: string }>;
type CartConfirmed = Event<"CartConfirmed", { at: string }>;
type CartEvent = ItemAdded | CartConfirmed;
type AddItem = { type: "AddItem"; data: { sku: string; qty: number } };
type Cart = { items: number; confirmed: boolean };

const initialState = (): Cart => ({ items: 0, confirmed: false });
const evolve = (state: Cart, event: CartEvent): Cart =>
  event.type === "ItemAdded" ? { ...state, items: state.items + event.data.qty } : { ...state, confirmed: true };
const decide = (command: AddItem, state: Cart): CartEvent => {
  if (state.confirmed) throw new Error("confirmed");
  return { type: "ItemAdded", data: command.data, metadata: { correlationId: "k1" } };
};

export async function emmett(): Promise<bigint> {
  const eventStore: EventfoldEmmettEventStore = getEventfoldEventStore(await EventStore.inMemory());
  const asEmmett: EmmettEventStore<EventfoldReadEventMetadata> = eventStore;
  const handle = DeciderCommandHandler({ decide, evolve, initialState });
  const { newState, nextExpectedStreamVersion } = await handle(asEmmett, "cart-1", { type: "AddItem", data: { sku: "p1", qty: 2 } });
  const items: number = newState.items;

  const appended = await eventStore.appendToStream<CartEvent>("cart-1", [{ type: "CartConfirmed", data: { at: "now" } }], {
    expectedStreamVersion: nextExpectedStreamVersion,
  });
  const global: bigint = appended.lastEventGlobalPosition;

  const { events, currentStreamVersion } = await eventStore.readStream<CartEvent>("cart-1", { from: 1n, to: 2n, maxCount: 10n });
  for (const e of events) {
    const position: bigint = e.metadata.streamPosition;
    const globalPosition: bigint = e.metadata.globalPosition;
    const messageId: string = e.metadata.messageId;
    if (e.type === "ItemAdded") console.log(e.data.sku, e.metadata.correlationId, position, globalPosition, messageId);
  }
  const withMetadata = (s: Cart, e: ReadEvent<CartEvent, EventfoldReadEventMetadata>): Cart =>
    e.metadata.streamPosition > 1n ? evolve(s, e) : s;
  const { state } = await eventStore.aggregateStream("cart-1", { evolve: withMetadata, initialState, read: { to: 1n } });
  const exists: boolean = await eventStore.streamExists("cart-2");
  try {
    await eventStore.appendToStream("cart-2", [{ type: "CartConfirmed", data: { at: "now" } }], { expectedStreamVersion: STREAM_DOES_NOT_EXIST });
  } catch (e) {
    if (isEventfoldError(e)) console.log(e.code);
  }

  // @ts-expect-error the adapter needs an eventfold store
  getEventfoldEventStore({ append: () => 1 });
  // @ts-expect-error expected versions are Emmett's: a bigint or STREAM_EXISTS / STREAM_DOES_NOT_EXIST / NO_CONCURRENCY_CHECK
  await eventStore.appendToStream("cart-1", [{ type: "A", data: {} }], { expectedStreamVersion: "LATEST" });
  // @ts-expect-error positions are bigints
  await eventStore.readStream("cart-1", { from: "1" });
  return currentStreamVersion + global + BigInt(items + state.items) + (exists ? 1n : 0n);
}
