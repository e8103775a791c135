// Type-checked with `tsc --noEmit` against the installed package: the API a TypeScript user
// writes must compile, and misuse must not (see the @ts-expect-error lines).
import { EventStore, isEventfoldError } from "eventfold";
import type { AppendResult, EventInput, RecordedEvent, ErrorCode } from "eventfold";

type OrderCreated = { customerId: string };

export async function usage(): Promise<number> {
  const store: EventStore = await EventStore.inMemory({ maxEventBytes: 65536 });
  const input: EventInput<"OrderCreated", OrderCreated> = {
    type: "OrderCreated",
    data: { customerId: "c1" },
    metadata: { correlationId: "k1" },
    id: crypto.randomUUID(),
  };
  const r: AppendResult = await store.append("order-1", [input], { expectedVersion: "no_stream" });
  await store.append("order-1", [{ type: "ItemAdded", data: { sku: "p1", qty: 2 } }], { expectedVersion: r.version });
  const events: RecordedEvent[] = await store.readStream("order-1", { from: 1, limit: 100, direction: "forward" });
  const page = await store.readAll({ after: 0, limit: 1000, filter: { streamPrefix: "order-", types: ["OrderCreated"] } });
  const sub = store.subscribe({ after: 0, streamPrefix: "order-" }, (batch: RecordedEvent[]) => {
    for (const e of batch) console.log(e.position, e.type, e.version, e.timestamp);
  });
  sub.close();
  try {
    await store.append("order-1", [input], { expectedVersion: 99 });
  } catch (e) {
    if (isEventfoldError(e)) {
      const code: ErrorCode = e.code;
      console.log(code, e.stream, e.expected, e.actual);
    }
  }
  // @ts-expect-error expectedVersion must be "any" | "no_stream" | "exists" | number
  await store.append("order-1", [input], { expectedVersion: "latest" });
  // @ts-expect-error direction is "forward" | "backward"
  await store.readStream("order-1", { direction: "sideways" });
  // @ts-expect-error events need a type
  await store.append("order-1", [{ data: 1 }]);
  return events.length + page.length + (await store.headPosition()) + (await store.streamVersion("order-1"));
}
