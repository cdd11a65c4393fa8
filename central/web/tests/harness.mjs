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

// Every Content-Security-Policy violation any page reports: the dashboard must work under
// central's strict policy (no inline script or style), so each one fails the run.
const violations = [];

/** Records the context's CSP violations (the DOM event, and Chromium's console report). */
export async function guardCsp(context) {
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
  });
  context.on("console", (m) => {
    const text = m.text();
    if (text.includes("CSP violation") || text.includes("Content Security Policy")) violations.push(text);
  });
}

/** Closes the browser and exits non-zero when any step failed or the CSP was violated. */
export async function finish(browser) {
  await browser.close();
  if (violations.length) {
    failures++;
    console.log(`FAIL the pages violated the Content-Security-Policy ${violations.length} time(s):\n  ${[...new Set(violations)].join("\n  ")}`);
  } else console.log("ok   no Content-Security-Policy violation on any page");
  if (failures) console.log(`${failures} step(s) failed`);
  process.exit(failures ? 1 : 0);
}
