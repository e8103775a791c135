// The LiveStore schema of the bench (shared by the page and LiveStore's leader worker, as
// LiveStore's docs set it up): one synced event type per appended event, materialized into one
// SQLite row per event. See bench/peers/livestore.js.
import { Events, Schema, State, makeSchema } from "@livestore/livestore";

export const tables = {
  events: State.SQLite.table({
    name: "events",
    columns: {
      position: State.SQLite.integer({ primaryKey: true }),
      id: State.SQLite.text(),
      stream: State.SQLite.text(),
      version: State.SQLite.integer(),
      type: State.SQLite.text(),
      data: State.SQLite.json(),
      timestamp: State.SQLite.integer(),
    },
    // Not unique: a materializer that fails on a duplicate would stop the store after the
    // event is already in the eventlog, which is not a refused append (see livestore.js).
    indexes: [{ name: "events_stream_version", columns: ["stream", "version"] }],
  }),
};

export const events = {
  appended: Events.synced({
    name: "v1.Appended",
    schema: Schema.Struct({
      id: Schema.String,
      stream: Schema.String,
      version: Schema.Number,
      position: Schema.Number,
      type: Schema.String,
      data: Schema.Unknown,
      timestamp: Schema.Number,
    }),
  }),
};

const materializers = State.SQLite.materializers(events, {
  "v1.Appended": (e) => tables.events.insert(e),
});

export const schema = makeSchema({ events, state: State.SQLite.makeState({ tables, materializers }) });
