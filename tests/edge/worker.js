// A Cloudflare Worker with one Durable Object per tenant, each holding a durable eventfold
// store in its own SQLite storage and serving the sync protocol on it: the example of
// docs/edge.md, run by tests/edge/workerd.test.mjs in workerd. Requests to /t/<tenant>/v1/...
// reach tenant <tenant>'s object as /v1/....
import { DurableObject } from "cloudflare:workers";
import { EventStore, createSyncHandler } from "eventfold";

export class Tenant extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    // Open the store before the first request is delivered.
    ctx.blockConcurrencyWhile(async () => {
      this.store = await EventStore.sqlite(ctx.storage);
      // TOKENS and LIMITS: JSON bindings (wrangler: [vars] or secrets).
      this.handle = createSyncHandler({ store: this.store, tokens: env.TOKENS, limits: env.LIMITS });
    });
  }

  fetch(request) {
    return this.handle(request);
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const m = /^\/t\/([\w-]+)(\/.*)$/.exec(url.pathname);
    if (!m) return new Response("not found", { status: 404 });
    const tenant = env.TENANTS.get(env.TENANTS.idFromName(m[1]));
    url.pathname = m[2];
    return tenant.fetch(new Request(url, request));
  },
};
