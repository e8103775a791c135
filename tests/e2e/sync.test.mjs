// The end-to-end sync tests (sync-suite.mjs) against the native eventfold-server on SQLite.
import { syncSuite } from "./sync-suite.mjs";

syncSuite("eventfold-server");
