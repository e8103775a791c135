// The event inspector: the log as a timeline (global or one stream), each event's data and
// metadata, and a slider that travels in time: an order's state (aggregate.load atPosition) and
// the order list (projection.stateAt) as of any global position.
import { h, mount, time, shortId } from "./dom.js";
import { formatMinor, filterList } from "./domain.js";

export function inspectorView(el, app) {
  let events = [];
  let pending = [];       // appended here, not yet confirmed by the server (position 0)
  let stream = "";        // "" = the global log
  let at = null;          // the slider's position; null = follow the head
  let picked = null;      // position of the event shown in detail
  let seq = 0;            // drops stale async renders
  let shownPending = null; // a pending event picked in the timeline

  const streamSelect = h("select", { "data-testid": "stream-filter", onchange: () => { stream = streamSelect.value; picked = null; render(); } });
  const slider = h("input", {
    type: "range", min: "0", max: "0", value: "0", step: "1", "data-testid": "slider", "aria-label": "Position in the log",
    oninput: () => { const v = Number(slider.value); at = v >= head() ? null : v; picked = at ?? head(); render(); },
  });
  const readout = h("div", { class: "readout", "data-testid": "slider-readout" });
  const step = (d) => { const v = Math.min(head(), Math.max(0, position() + d)); at = v >= head() ? null : v; picked = v; render(); };
  const timeline = h("ol", { class: "timeline", "data-testid": "timeline" });
  const eventPanel = h("section", { class: "panel event-panel", "data-testid": "event-detail" });
  const orderPanel = h("div", { class: "asof-order", "data-testid": "asof-order" });
  const listPanel = h("div", { class: "asof-list", "data-testid": "asof-list" });
  const timelineTitle = h("h2", {});

  mount(el,
    h("div", { class: "panel travel" },
      h("div", { class: "travel-head" },
        h("h2", {}, "Time travel"),
        h("div", { class: "travel-buttons" },
          h("button", { type: "button", class: "ghost small", title: "One event back", "data-testid": "step-back", onclick: () => step(-1) }, "◀"),
          h("button", { type: "button", class: "ghost small", title: "One event forward", "data-testid": "step-forward", onclick: () => step(1) }, "▶"),
          h("button", { type: "button", class: "ghost small", "data-testid": "now", onclick: () => { at = null; picked = null; render(); } }, "Now"))),
      slider, readout),
    h("div", { class: "inspector-layout" },
      h("aside", { class: "panel timeline-panel" },
        h("div", { class: "timeline-head" }, timelineTitle, streamSelect),
        timeline),
      eventPanel,
      h("section", { class: "panel asof" }, orderPanel, listPanel)));

  const head = () => (events.length ? events[events.length - 1].position : 0);
  const position = () => at ?? head();

  async function load() {
    events = await app.store.readAll({ after: 0, filter: { streamPrefix: "order-" } });
    pending = await app.sync.pending();
  }

  async function render() {
    const mine = ++seq;
    const pos = position();
    const streams = [...new Set([...events, ...pending].map((e) => e.stream))];
    const customers = Object.fromEntries([...events, ...pending].filter((e) => e.type === "OrderCreated").map((e) => [e.stream, e.data.customerId]));
    mount(streamSelect, h("option", { value: "" }, `All streams (${events.length} events)`),
      streams.map((s) => h("option", { value: s, selected: s === stream }, `${s} · ${customers[s] ?? "?"}`)));
    streamSelect.value = stream;
    slider.max = String(head());
    slider.value = String(pos);
    const shown = stream ? events.filter((e) => e.stream === stream) : events;
    timelineTitle.textContent = stream ? `Stream ${shortId(stream)}` : "Global log";

    const current = events.findLast((e) => e.position <= pos);
    mount(readout,
      h("strong", {}, `Position ${pos}`), ` of ${head()}`,
      current ? ` · ${time(current.timestamp)} · ${current.type} on ${shortId(current.stream)}` : " · before the first event",
      at === null ? h("span", { class: "live" }, "live") : h("span", { class: "past" }, "past"));

    const waiting = stream ? pending.filter((e) => e.stream === stream) : pending;
    mount(timeline, waiting.length ? h("li", { class: "tl-group" }, "Pending: not on the server yet") : null,
      waiting.slice().reverse().map((e) => h("li", {
        class: `tl-item pending ${e.type}`, "data-testid": "tl-pending", title: "Appended on this device; sync will push it",
        onclick: () => { picked = null; at = null; shownPending = e; render(); },
      },
        h("span", { class: "pos" }, "·"),
        h("span", { class: "what" }, h("strong", {}, e.type), h("small", {}, `${shortId(e.stream)} · v${e.version}`)),
        h("span", { class: "when" }, time(e.timestamp)))),
      shown.length || waiting.length ? null : h("li", { class: "empty" }, "No events yet: create an order."),
      waiting.length && shown.length ? h("li", { class: "tl-group" }, "Confirmed") : null,
      shown.slice().reverse().map((e) => h("li", {
      class: `tl-item ${e.type}${e.position > pos ? " future" : ""}${e.position === (picked ?? current?.position) ? " picked" : ""}`,
      "data-testid": "tl-event", "data-position": e.position,
      onclick: () => { picked = e.position; at = e.position >= head() ? null : e.position; render(); },
    },
      h("span", { class: "pos" }, String(e.position)),
      h("span", { class: "what" }, h("strong", {}, e.type), h("small", {}, `${shortId(e.stream)} · v${e.version}`)),
      h("span", { class: "when" }, time(e.timestamp)))));

    const ev = shownPending ?? events.find((e) => e.position === (picked ?? current?.position));
    shownPending = null;
    mount(eventPanel, ev ? [
      h("h2", {}, ev.type, h("small", {}, ev.position ? ` position ${ev.position}` : " pending")),
      h("dl", { class: "envelope" },
        ...[["stream", ev.stream], ["version", ev.version], ["id", ev.id], ["time", new Date(ev.timestamp).toISOString()]]
          .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])),
      h("h3", {}, "data"), h("pre", { class: "json", "data-testid": "event-data" }, JSON.stringify(ev.data, null, 2)),
      h("h3", {}, "metadata"), h("pre", { class: "json" }, JSON.stringify(ev.metadata, null, 2)),
    ] : h("p", { class: "muted" }, "Pick an event in the timeline to see its data and metadata."));

    // As of `pos`: one order through the aggregate, the whole list through the projection.
    const focus = stream || ev?.stream || current?.stream;
    // Live ("Now"), both include pending events; in the past, only the confirmed log counts.
    const live = at === null;
    const [loaded, listState] = await Promise.all([
      focus ? app.orders.load(focus.replace(/^order-/, ""), live ? {} : { atPosition: pos }) : null,
      live ? app.history.ready().then(() => app.history.state) : app.history.stateAt(pos),
    ]);
    if (mine !== seq) return;
    renderOrder(focus, loaded, pos);
    renderList(listState, pos, focus);
  }

  function renderOrder(focus, loaded, pos) {
    if (!focus) return mount(orderPanel);
    const { state, version } = loaded;
    mount(orderPanel,
      h("h2", {}, "Order as of position ", h("span", { "data-testid": "asof-position" }, String(pos))),
      state.status === "none"
        ? h("p", { class: "muted" }, `${shortId(focus)} did not exist yet.`)
        : h("div", { class: "mini-order" },
          h("div", { class: "mini-head" },
            h("strong", {}, state.customerId), h("span", { class: "muted" }, ` ${shortId(focus)} · version ${version}`),
            h("span", { class: `badge ${state.status}`, "data-testid": "asof-status" }, state.status)),
          h("ul", { class: "mini-lines" }, Object.entries(state.lines).map(([sku, l]) =>
            h("li", { "data-testid": "asof-line" }, h("span", {}, `${l.qty} × ${sku}`), h("span", { class: "money" }, formatMinor(l.qty * l.unitPrice))))),
          h("div", { class: "mini-total" }, h("span", {}, "Total"), h("span", { class: "money", "data-testid": "asof-total" }, formatMinor(state.total)))));
  }

  function renderList(listState, pos, focus) {
    const rows = filterList(Object.values(listState ?? {}), {});
    mount(listPanel,
      h("h2", {}, "Order list as of position ", String(pos)),
      rows.length ? h("table", { class: "lines compact", "data-testid": "asof-list-table" },
        h("tbody", {}, rows.map((o) => h("tr", { class: o.id === focus ? "focus" : "", "data-testid": "asof-list-row" },
          h("td", {}, o.customerId, h("small", { class: "muted" }, ` ${shortId(o.id)}`)),
          h("td", {}, h("span", { class: `badge ${o.status}` }, o.status)),
          h("td", { class: "num" }, `${o.items} item${o.items === 1 ? "" : "s"}`),
          h("td", { class: "num money" }, formatMinor(o.total)))))) :
        h("p", { class: "muted" }, "No orders at this position."));
  }

  return {
    el,
    async refresh() { await load(); await render(); },
    async show(rest) {
      if (rest && rest !== stream) { stream = rest; picked = null; at = null; }
      await load();
      await render();
    },
  };
}
