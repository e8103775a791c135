// The end-to-end sync tests (sync-suite.mjs) against Cloudflare's workerd: the demo app syncs
// with tenant "demo"'s Durable Object (the Worker of docs/edge.md, a durable SQLite store), as
// `npm run demo -- --edge` runs it; the server that goes down and comes back is workerd
// restarted on the same Durable Object storage.
import { syncSuite } from "./sync-suite.mjs";

syncSuite("workerd");
