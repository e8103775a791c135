// The orders page: create orders, a filtered list (read model queries), and one order's detail
// where items are added/removed and the order confirmed or cancelled (aggregate commands).
import { h, mount, ago, reason, shortId } from "./dom.js";
import { formatMinor, listQuery } from "./domain.js";

const STATUSES = [["", "All"], ["open", "Open"], ["confirmed", "Confirmed"], ["cancelled", "Cancelled"]];

export function ordersView(el, app) {
  const filters = { status: "", customer: "" };
  let selected = null; // stream of the order shown on the right
  let seq = 0;         // renders overlap (a command, a sync report): only the newest is shown

  // --- left: new order, filters, list -------------------------------------------------------
  const createError = h("p", { class: "form-error", role: "alert", "data-testid": "create-error" });
  const customerInput = h("input", { name: "customer", placeholder: "Customer name", autocomplete: "off", "data-testid": "customer" });
  const createForm = h("form", { class: "new-order", "data-testid": "new-order", onsubmit: onCreate },
    h("fieldset", {},
      h("label", { class: "sr-only", for: "customer" }, "Customer"),
      customerInput,
      h("button", { type: "submit", class: "primary", "data-testid": "create" }, "New order")),
  );
  const chips = STATUSES.map(([value, label]) => h("button", {
    type: "button", class: "chip", "data-testid": `filter-status-${value || "all"}`,
    onclick: () => { filters.status = value; refresh(); },
  }, label));
  const customerFilter = h("input", {
    type: "search", placeholder: "Filter by customer…", "data-testid": "filter-customer",
    oninput: () => { filters.customer = customerFilter.value; refresh(); },
  });
  const list = h("ul", { class: "order-list", "data-testid": "order-list" });
  const listHint = h("p", { class: "hint" });
  const rejections = h("div", { class: "rejections", "data-testid": "rejections", hidden: true });

  // --- right: the selected order --------------------------------------------------------------
  const detail = h("section", { class: "panel detail", "data-testid": "order-detail" });
  const itemError = h("p", { class: "form-error", role: "alert", "data-testid": "item-error" });
  const actionError = h("p", { class: "form-error", role: "alert", "data-testid": "action-error" });
  const itemForm = h("form", { class: "add-item", "data-testid": "add-item", onsubmit: onAddItem },
    h("fieldset", {},
      field("SKU", h("input", { name: "sku", placeholder: "e.g. coffee-beans", autocomplete: "off", "data-testid": "sku" })),
      field("Qty", h("input", { name: "qty", value: "1", inputmode: "numeric", class: "narrow", "data-testid": "qty" })),
      field("Unit price", h("input", { name: "price", placeholder: "12.50", inputmode: "decimal", class: "narrow", "data-testid": "price" })),
      h("button", { type: "submit", class: "primary", "data-testid": "add" }, "Add item")),
  );
  const headEl = h("header", { class: "detail-head" });
  const linesEl = h("div");
  const actionsEl = h("div", { class: "actions" });
  const card = h("div", {}, headEl, linesEl, itemForm, itemError, actionsEl, actionError);

  mount(el,
    rejections,
    h("div", { class: "orders-layout" },
      h("aside", { class: "panel list-panel" },
        h("h2", {}, "Orders"),
        createForm, createError,
        h("div", { class: "filters" }, h("div", { class: "chips", role: "group", "aria-label": "Status" }, chips), customerFilter),
        list, listHint),
      detail));

  async function run(stream, command, errorEl) {
    errorEl.textContent = "";
    try {
      // Synced by the running sync client: it wakes on pending events (this tab or another).
      return await app.orders.execute(stream.replace(/^order-/, ""), command);
    } catch (e) {
      errorEl.textContent = reason(e);
      return null;
    }
  }

  /** Runs `fn` with the form's fields disabled, so nothing typed meanwhile is lost or reset. */
  async function busy(form, fn) {
    const fields = form.querySelector("fieldset");
    fields.disabled = true;
    try {
      return await fn();
    } finally {
      fields.disabled = false;
    }
  }

  async function onCreate(ev) {
    ev.preventDefault();
    const id = crypto.randomUUID().slice(0, 8);
    const r = await busy(createForm, async () => {
      const r = await run(`order-${id}`, { type: "Create", customerId: customerInput.value }, createError);
      if (r) customerInput.value = "";
      return r;
    });
    if (r) location.hash = `#/orders/order-${id}`;
  }

  async function onAddItem(ev) {
    ev.preventDefault();
    const f = new FormData(itemForm);
    const r = await busy(itemForm, async () => {
      const r = await run(selected, { type: "AddItem", sku: f.get("sku"), qty: f.get("qty"), price: f.get("price") }, itemError);
      if (r) {
        itemForm.elements.sku.value = "";
        itemForm.elements.qty.value = "1";
        itemForm.elements.price.value = "";
      }
      return r;
    });
    if (r) {
      itemForm.elements.sku.focus();
      await refresh();
    }
  }

  async function command(cmd) {
    if (await run(selected, cmd, actionError)) await refresh();
  }

  async function renderList(mine) {
    await app.list.ready();
    const query = listQuery(filters);
    const [found, pending] = await Promise.all([app.list.query(query), app.sync.pending()]);
    if (mine !== seq) return;
    let rows = found;
    const unsynced = new Set(pending.map((e) => e.stream));
    if (query.index !== "createdAt") rows = rows.sort((a, b) => b.createdAt - a.createdAt);
    chips.forEach((c, i) => c.classList.toggle("active", STATUSES[i][0] === filters.status));
    listHint.textContent = `${rows.length} order${rows.length === 1 ? "" : "s"} · read model "order-list", index "${query.index}"`;
    mount(list, rows.length ? rows.map((o) => h("li", {},
      h("a", {
        href: `#/orders/${o.id}`, class: `order-row${o.id === selected ? " selected" : ""}`,
        "data-testid": "order-row", "data-stream": o.id, "data-status": o.status,
      },
        h("span", { class: "who" }, o.customerId, h("small", {}, shortId(o.id))),
        h("span", { class: `badge ${o.status}` }, o.status),
        h("span", { class: "meta" }, `${o.items} item${o.items === 1 ? "" : "s"} · ${ago(o.updatedAt)}`,
          unsynced.has(o.id) && h("span", { class: "unsynced", title: "Changes saved on this device, not on the server yet", "data-testid": "unsynced" }, "not synced")),
        h("span", { class: "money" }, formatMinor(o.total))))) :
      h("li", { class: "empty" }, filters.status || filters.customer ? "No order matches these filters." : "No orders yet: create one above."));
  }

  async function renderDetail(mine) {
    if (!selected) {
      mount(detail, h("div", { class: "placeholder" },
        h("h2", {}, "No order selected"),
        h("p", {}, "Create an order or pick one from the list. Everything you do is an event in this browser's IndexedDB: it works offline and syncs when the server is reachable.")));
      return;
    }
    const { state, version } = await app.orders.load(selected.replace(/^order-/, ""), {});
    if (mine !== seq) return;
    if (state.status === "none") {
      mount(detail, h("div", { class: "placeholder" }, h("h2", {}, "Order not found"), h("p", {}, selected)));
      return;
    }
    const open = state.status === "open";
    const lines = Object.entries(state.lines);
    // The form stays in place (never re-mounted), so a refresh never takes the focus or what
    // is being typed; only the parts around it are rebuilt.
    if (card.parentNode !== detail) mount(detail, card);
    mount(headEl,
      h("div", {}, h("h2", { "data-testid": "detail-customer" }, state.customerId), h("p", { class: "muted" }, `${shortId(selected)} · version ${version}`)),
      h("span", { class: `badge big ${state.status}`, "data-testid": "detail-status" }, state.status));
    mount(linesEl,
      h("table", { class: "lines", "data-testid": "lines" },
        h("thead", {}, h("tr", {}, h("th", {}, "Product"), h("th", { class: "num" }, "Qty"), h("th", { class: "num" }, "Unit price"), h("th", { class: "num" }, "Line total"), h("th"))),
        h("tbody", {}, lines.length ? lines.map(([sku, l]) => h("tr", { "data-testid": "line", "data-sku": sku },
          h("td", {}, sku), h("td", { class: "num" }, String(l.qty)), h("td", { class: "num money" }, formatMinor(l.unitPrice)),
          h("td", { class: "num money" }, formatMinor(l.qty * l.unitPrice)),
          h("td", { class: "num" }, open && h("button", {
            type: "button", class: "ghost small danger", title: `Remove ${sku}`, "data-testid": "remove",
            onclick: () => command({ type: "RemoveItem", sku }),
          }, "Remove")))) : h("tr", {}, h("td", { colspan: 5, class: "empty" }, "No items yet."))),
        h("tfoot", {}, h("tr", {}, h("td", { colspan: 3 }, "Total"), h("td", { class: "num money", "data-testid": "total" }, formatMinor(state.total)), h("td")))));
    itemForm.hidden = !open;
    itemError.hidden = !open;
    mount(actionsEl,
      open && h("button", { type: "button", class: "primary", "data-testid": "confirm", onclick: () => command({ type: "Confirm" }) }, "Confirm order"),
      open && h("button", { type: "button", class: "ghost danger", "data-testid": "cancel", onclick: () => command({ type: "Cancel", reason: "cancelled in the demo" }) }, "Cancel order"),
      h("a", { class: "ghost button", href: `#/inspector/${selected}` }, "History in the inspector →"));
  }

  async function refresh() {
    const mine = ++seq;
    await Promise.all([renderList(mine), renderDetail(mine)]);
  }

  function syncChanged(s) {
    rejections.hidden = s.rejected.length === 0;
    mount(rejections,
      h("h3", {}, "Changes the server did not accept"),
      h("p", { class: "muted" }, "Another device changed these orders first; your command was re-run against their version and rejected."),
      h("ul", {}, s.rejected.map((r) => h("li", { "data-testid": "rejection" },
        h("a", { href: `#/orders/${r.stream}` }, shortId(r.stream)), " ",
        h("code", {}, describe(r.command)), " — ", h("strong", {}, r.reason)))),
      h("button", { type: "button", class: "ghost small", onclick: () => { s.rejected.length = 0; app.sync.view.rejected.length = 0; syncChanged(s); } }, "Dismiss"));
  }

  return {
    el,
    refresh,
    syncChanged,
    show(rest) {
      if (rest !== selected) {
        selected = rest || null;
        for (const e of [itemError, actionError]) e.textContent = "";
      }
      return refresh();
    },
  };
}

function field(label, input) {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

function describe(command) {
  if (!command) return "a command";
  const { type, ...rest } = command;
  const args = Object.entries(rest).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ");
  return args ? `${type} { ${args} }` : type;
}
