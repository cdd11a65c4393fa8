// What the browser tests share: required environment values, named steps that record a
// failure and go on (so one run shows every broken step), expectations, the browser, and
// the exit status.
import { chromium } from "playwright-core";

export const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };

let failures = 0;
export const failed = () => { failures++; };

export async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
  }
}

export function expect(cond, what) { if (!cond) throw new Error(`expected: ${what}`); }

/** Debian's Chromium, headless. */
export const launch = () => chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });

/** Closes the browser and exits non-zero when any step failed. */
export async function finish(browser) {
  await browser.close();
  if (failures) console.log(`${failures} step(s) failed`);
  process.exit(failures ? 1 : 0);
}
