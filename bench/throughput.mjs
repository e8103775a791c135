// (p) Server push throughput: runs server/tests/throughput.rs (an ignored measurement) in
// release mode, without the workspace's wasm-tuned LTO and panic=abort, under
// scripts/with-postgres (PostgreSQL as the postgres user in a temp dir on 127.0.0.1, when
// installed), in its own cargo target folder so the wasm build's artifacts are not disturbed.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const LINE = /^(.+?): push (\d+) events\/s \((.+?)\); pull (\d+) events in ([\d.]+)s.*?, ([\d.]+) gzip bytes\/event/;

export function serverThroughput(root) {
  const args = ["scripts/with-postgres", "cargo", "test", "--release", "-p", "eventfold-server",
    "--test", "throughput", "--", "--ignored", "--nocapture"];
  const target = join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "throughput");
  const started = Date.now();
  const run = spawnSync("bash", args, {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, CARGO_TARGET_DIR: target, CARGO_PROFILE_RELEASE_LTO: "false",
      CARGO_PROFILE_RELEASE_PANIC: "unwind" },
  });
  const output = `${run.stdout}\n${run.stderr}`;
  const rows = output.split("\n").map((l) => LINE.exec(l.trim())).filter(Boolean).map((m) => ({
    backend: m[1], pushRate: Number(m[2]), pushShape: m[3], pullEvents: Number(m[4]),
    pullS: Number(m[5]), gzipBytesPerEvent: Number(m[6]),
  }));
  const pg = /\[with-postgres\] (PostgreSQL [\d.]+) on/.exec(output)?.[1] ?? null;
  const note = pg ? null : (/\[with-postgres\] (.*)/.exec(output)?.[1] ?? "PostgreSQL did not start");
  return {
    command: `CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_PANIC=unwind bash ${args.join(" ")}`,
    status: run.status, seconds: Math.round((Date.now() - started) / 1000),
    rows, postgres: pg, note,
    error: run.status === 0 ? null : output.split("\n").filter((l) => l.trim()).slice(-5).join(" / "),
  };
}
