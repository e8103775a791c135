// Builds and starts eventfold-server for the demo and the end-to-end tests. The dev profile is
// used on purpose: the workspace's release profile is tuned for the wasm package (LTO,
// opt-level z, panic=abort), which makes a slow build and a slow server.
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Builds the server (dev profile; a no-op when it is fresh) and returns the binary's path. */
export function buildServer({ quiet = false } = {}) {
  execFileSync("cargo", ["build", "-p", "eventfold-server", ...(quiet ? ["--quiet"] : [])], {
    cwd: root,
    stdio: ["ignore", quiet ? "ignore" : "inherit", "inherit"],
    env: { ...process.env, PATH: `${process.env.HOME}/.cargo/bin:${process.env.PATH}` },
  });
  return join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "debug", "eventfold-server");
}

/**
 * Starts the server on `listen` (port 0 picks a free one) over the SQLite file `db` and waits
 * until it listens. Resolves to `{ url, child, stop() }`; `stop()` sends SIGINT (a graceful
 * shutdown) and waits for the exit.
 */
export function startServer({ bin, db, listen = "127.0.0.1:0", log = () => {} }) {
  // Its own process group: a terminal's Ctrl-C reaches only the parent, which stops it in order.
  const child = spawn(bin, ["--db", db, "--listen", listen], { stdio: ["ignore", "inherit", "pipe"], detached: true });
  // Whatever ends the parent (an error, process.exit) ends the server too.
  const orphanGuard = () => child.kill("SIGKILL");
  process.once("exit", orphanGuard);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => {
    process.off("exit", orphanGuard);
    resolve({ code, signal });
  }));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    let text = "";
    child.stderr.on("data", (chunk) => {
      text += chunk;
      for (const line of String(chunk).split("\n")) if (line.trim()) log(line);
      const m = /listening on (http:\/\/\S+)/.exec(text);
      if (m) resolve({ url: m[1], child, stop });
    });
    child.once("error", reject);
    exited.then(({ code }) => reject(new Error(`eventfold-server exited (${code}) before listening:\n${text}`)));
  });
}
