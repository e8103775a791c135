// Starts a real eventfold-server (embedded SQLite in a temporary folder) for the sync tests.
// The binary comes from the workspace's cargo target folder (built when missing).
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = process.env.EVENTFOLD_ROOT ?? join(process.cwd(), "..", "..");

function binary() {
  const target = process.env.CARGO_TARGET_DIR ?? join(root, "target");
  const bin = join(target, "debug", "eventfold-server");
  if (!existsSync(bin)) {
    execFileSync("cargo", ["build", "-q", "-p", "eventfold-server"], { cwd: root, stdio: "inherit" });
  }
  return bin;
}

/**
 * A running server: `{ url, stop(), restart() }`; its data survives `restart()`. With
 * `tokens` (`{ [token]: { read: [prefixes], write: [prefixes] } }`) only those tokens are
 * accepted (`--tokens`); without, the server is open.
 */
export async function startServer({ tokens } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "eventfold-sync-"));
  const db = join(dir, "data.sqlite");
  const bin = binary();
  const args = ["--db", db];
  const tokenFile = join(dir, "tokens.json");
  const writeTokens = () => tokens && writeFileSync(tokenFile, JSON.stringify({ tokens }), { mode: 0o600 });
  writeTokens();
  if (tokens) args.push("--tokens", tokenFile);
  let child;
  let port = 0;
  const launch = () =>
    new Promise((resolve, reject) => {
      child = spawn(bin, [...args, "--listen", `127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      child.stderr.on("data", (d) => {
        err += d;
        const m = /listening on (http:\/\/[\d.]+:(\d+))/.exec(err);
        if (m) {
          port = Number(m[2]);
          resolve(m[1]);
        }
      });
      child.on("exit", (code) => reject(new Error(`eventfold-server exited (${code}): ${err}`)));
    });
  const url = await launch();
  const stopChild = (signal = "SIGTERM") =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", resolve);
      child.kill(signal);
    });
  return {
    url,
    async stop() {
      await stopChild();
      rmSync(dir, { recursive: true, force: true });
    },
    /** Stops the process (the store stays on disk); `pause("SIGKILL")` is a crash. */
    pause: stopChild,
    /** Starts it again on the same port and database. */
    resume: launch,
    /** Replaces the server by a fresh one on the same port: a new, empty database (new store id). */
    async wipe() {
      await stopChild();
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeTokens();
      return launch();
    },
  };
}
