// What the browser scripts share: Debian's Chromium launched as this machine allows (no
// sandbox as root, nothing reaching out of the machine), and the list of checks a script
// counts and reports.
import { chromium } from "playwright-core";

/** The Chromium binary: CHROMIUM_PATH (set by the Rust test), else Debian's. */
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** Headless Chromium; exits the script with status 2 when it cannot start. */
export async function launchChromium() {
  try {
    return await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    });
  } catch (error) {
    console.error(`could not start Chromium at ${CHROMIUM} (run scripts/setup): ${error.message}`);
    process.exit(2);
  }
}

/** `checks` (what passed, in order) and `check(condition, what, detail)`, which throws. */
export function checker() {
  const checks = [];
  const check = (condition, what, detail = "") => {
    if (!condition) throw new Error(`${what}${detail ? `: ${detail}` : ""}`);
    checks.push(what);
  };
  return { checks, check };
}
