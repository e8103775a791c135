// Mounts the Svelte test app on the live query of open orders.
import { mount } from "svelte";
import App from "./App.svelte";
import { openOrders } from "./orders.js";

const app = await openOrders();
mount(App, { target: document.getElementById("root"), props: { open: app.open } });
