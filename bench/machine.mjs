// The machine, OS and tool versions a run happened on, for the report.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { CHROMIUM } from "./browser.mjs";

const firstMatch = (file, re) => {
  try {
    return re.exec(readFileSync(file, "utf8"))?.[1].trim() ?? "unknown";
  } catch {
    return "unknown";
  }
};

export function machineInfo() {
  let chromium;
  try {
    // Debian's wrapper script prints shell noise on stderr; keep stdout only.
    chromium = execFileSync(CHROMIUM, ["--version"], { stdio: ["ignore", "pipe", "ignore"] })
      .toString().trim();
  } catch (e) {
    chromium = `unknown (${e.message})`;
  }
  return {
    cpus: availableParallelism(),
    cpuModel: firstMatch("/proc/cpuinfo", /^model name\s*:(.*)$/m),
    ramGiB: +(totalmem() / 2 ** 30).toFixed(1),
    os: firstMatch("/etc/os-release", /^PRETTY_NAME="?([^"\n]*)"?$/m),
    chromium,
    node: process.version,
  };
}
