// LiveStore's leader worker (wa-sqlite on OPFS), as its docs write `livestore.worker.ts`.
import { makeWorker } from "@livestore/adapter-web/worker";
import { schema } from "./livestore-schema.js";

makeWorker({ schema });
