// Commissioning a camera in headless Chromium (playwright-core). Run by
// central/tests/commissioning.rs, which starts Mosquitto, central and a real edge agent on a
// clip and passes: BASE (central's URL), CAMERA (the agent's camera), OFFLINE (a camera
// with no agent), PASSWORD_OPERATOR / PASSWORD_VIEWER, OUT (screenshots).
// Each step saves a screenshot; any failed expectation exits non-zero.
import { mkdirSync } from "node:fs";
import { env, step, expect, failed, launch, finish, guardCsp } from "./harness.mjs";

const BASE = env("BASE"), OUT = env("OUT"), CAMERA = env("CAMERA"), OFFLINE = env("OFFLINE");
mkdirSync(OUT, { recursive: true });

const browser = await launch();
async function session(user, password) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  await guardCsp(context);
  const page = await context.newPage();
  page.on("pageerror", (e) => { console.log(`page error: ${e}`); failed(); });
  await page.goto(BASE + "/", { waitUntil: "load" });
  await page.locator("form.login input[name=username]").fill(user);
  await page.locator("form.login input[name=password]").fill(password);
  await page.locator("form.login button[type=submit]").click();
  await page.locator("#who").filter({ hasText: user }).waitFor({ timeout: 5000 });
  return page;
}
const page = await session("operator", env("PASSWORD_OPERATOR"));
const shot = (p, file) => p.locator("[data-testid=editor]").screenshot({ path: `${OUT}/${file}` });
const canvas = page.locator("[data-testid=editor-canvas]");
const problems = page.locator("[data-testid=problems] li");
const save = page.locator("[data-testid=save-config]");

// Page coordinates of a point given in frame pixels (the SVG's viewBox). Measured on the
// stage, which stays: the drawing inside it is redrawn after every change.
async function at(x, y) {
  const box = await page.locator("[data-testid=editor-stage]").boundingBox();
  const [w, h] = (await page.locator("[data-testid=editor-stage]").getAttribute("data-frame")).split("x").map(Number);
  return [box.x + (x / w) * box.width, box.y + (y / h) * box.height];
}
async function drag(from, to) {
  await page.mouse.move(...(await at(...from)));
  await page.mouse.down();
  await page.mouse.move(...(await at(...to)), { steps: 8 });
  await page.mouse.up();
}
async function click(p) {
  await page.mouse.click(...(await at(...p)));
}
// Waits until the agent answers `version` as the one it runs.
async function runs(version, limitMs) {
  await page.locator(`[data-testid=running-version][data-version="${version}"]`).waitFor({ timeout: limitMs });
}
const checked = () => page.waitForFunction(() => {
  const b = document.querySelector("[data-testid=save-config]");
  return b && !b.disabled;
}, null, { timeout: 5000 });

await step("the camera's editor asks the running agent for a snapshot", async () => {
  await page.goto(`${BASE}/#/camera/${CAMERA}`);
  await page.locator("[data-testid=snapshot-button]").click();
  await canvas.waitFor({ timeout: 10000 });
  await page.locator("[data-testid=editor-stage] img").evaluate((img) => img.decode());
  const natural = await page.locator("[data-testid=editor-stage] img").evaluate((img) => [img.naturalWidth, img.naturalHeight]);
  expect(natural[0] === 640 && natural[1] === 360, `a 640×360 picture, got ${natural}`);
  expect((await page.locator("[data-testid=editor-stage]").getAttribute("data-frame")) === "640x360", "the frame size");
  await shot(page, "01-snapshot.png");
});

let first = 0;
await step("a line and a zone drawn with the mouse are checked live and saved", async () => {
  await page.locator("[data-testid=tool-line]").click();
  await drag([60, 210], [620, 210]);
  await page.locator("[data-testid=tool-zone]").click();
  for (const p of [[200, 240], [440, 240], [460, 330], [180, 330]]) await click(p);
  await page.locator("[data-testid=finish-zone]").click();
  await checked();
  expect((await problems.count()) === 0, "no problems");
  const line = await page.locator("line.count-line[data-kind=line]").evaluate((l) => ["x1", "y1", "x2", "y2"].map((k) => Number(l.getAttribute(k))));
  expect(Math.abs(line[0] - 60) <= 2 && Math.abs(line[2] - 620) <= 2 && Math.abs(line[1] - 210) <= 2, `line where drawn: ${line}`);
  await shot(page, "02-drawn.png");
  const t0 = Date.now();
  await save.click();
  await page.locator("[data-testid=config-row]").first().waitFor({ timeout: 5000 });
  first = Number(await page.locator("[data-testid=config-row]").first().getAttribute("data-version"));
  // The agent's answer (accepted, or already applied) within 5 s of Save.
  await page.locator(`[data-testid=config-row][data-version="${first}"]:is([data-state=accepted],[data-state=applied])`).waitFor({ timeout: 5000 });
  console.log(`agent acknowledged version ${first} ${Date.now() - t0} ms after Save`);
  await runs(first, 5000);
  console.log(`agent ran version ${first} ${Date.now() - t0} ms after Save`);
  await shot(page, "03-applied.png");
});

await step("a 1 px line is refused in the browser and by the API, with its field path", async () => {
  await page.locator("[data-testid=tool-line]").click();
  await drag([300, 100], [301, 100]);
  await problems.first().waitFor({ timeout: 5000 });
  const text = await problems.first().textContent();
  expect(text.startsWith("lines[1].b:") && text.includes("shorter"), `the problem names the field: ${text}`);
  expect(await save.isDisabled(), "Save is disabled");
  await page.locator("svg .problem").first().waitFor({ timeout: 2000 });
  await shot(page, "04-refused.png");
  const api = await page.evaluate(async ([cam]) => {
    const body = { lines: [{ name: "tiny", a: [300, 100], b: [301, 100] }] };
    const r = await fetch(`/api/v1/cameras/${cam}/config`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return [r.status, await r.json()];
  }, [CAMERA]);
  expect(api[0] === 422 && api[1].problems[0].path === "lines[0].b", `422 with the path: ${JSON.stringify(api)}`);
  await page.locator("[data-testid=delete-shape]").click();
  await checked();
});

await step("a second version, then one click rolls back to the first", async () => {
  await page.locator("[data-testid=tool-select]").click();
  await click([340, 210]);
  await page.locator("[data-testid=prop-name]").fill("moved");
  await page.locator("[data-testid=prop-name]").press("Tab");
  await checked();
  await save.click();
  await runs(first + 1, 5000);
  const t0 = Date.now();
  await page.locator(`[data-testid=rollback-${first}]`).click();
  await runs(first + 2, 5000);
  console.log(`rollback ran as version ${first + 2} ${Date.now() - t0} ms after the click`);
  const names = await page.locator("svg text.label").allTextContents();
  expect(names.includes("line-1") && !names.includes("moved"), `the first version's shapes: ${names}`);
  await shot(page, "05-rolled-back.png");
});

await step("a camera with no agent: the snapshot request times out with a clear message", async () => {
  await page.goto(`${BASE}/#/camera/${OFFLINE}`);
  await page.locator("[data-testid=snapshot-button]").click();
  const message = page.locator("[data-testid=editor-message]");
  await page.waitForFunction(() => /did not answer/.test(document.querySelector("[data-testid=editor-message]")?.textContent ?? ""), null, { timeout: 10000 });
  const text = await message.textContent();
  expect(text.includes(OFFLINE) && text.includes("never heard from"), `says which camera and why: ${text}`);
  await shot(page, "06-offline.png");
});

await step("a viewer sees the editor read-only and is refused a save (403)", async () => {
  const viewer = await session("viewer", env("PASSWORD_VIEWER"));
  await viewer.goto(`${BASE}/#/camera/${CAMERA}`);
  await viewer.locator("[data-testid=editor-readonly]").waitFor({ timeout: 5000 });
  await viewer.locator("[data-testid=editor-canvas]").waitFor({ timeout: 5000 });
  expect((await viewer.locator("[data-testid=snapshot-button]").count()) === 0, "no snapshot button");
  expect((await viewer.locator("[data-testid=save-config]").count()) === 0, "no save button");
  const before = await viewer.locator("svg .count-line").count();
  await viewer.locator("[data-testid=editor-canvas]").click({ position: { x: 30, y: 30 } });
  expect((await viewer.locator("svg .count-line").count()) === before, "clicking draws nothing");
  const status = await viewer.evaluate(async (cam) => (await fetch(`/api/v1/cameras/${cam}/config`, { method: "PUT", headers: { "content-type": "application/json" }, body: "{\"lines\":[]}" })).status, CAMERA);
  expect(status === 403, `PUT as viewer: ${status}`);
  await viewer.locator("[data-testid=editor]").screenshot({ path: `${OUT}/07-viewer.png` });
});

await step("the fleet view shows the camera's box, model, calibration and last snapshot", async () => {
  await page.goto(`${BASE}/#/overview`);
  const row = page.locator(`[data-testid=camera-row][data-camera="${CAMERA}"]`);
  await row.waitFor({ timeout: 5000 });
  // The status heartbeat carries the box and model; it may come a few seconds after start.
  await page.waitForFunction((cam) => {
    const r = document.querySelector(`[data-testid=camera-row][data-camera="${cam}"] [data-testid=model]`);
    return r && r.textContent.startsWith("yolox");
  }, CAMERA, { timeout: 15000 });
  const cell = async (id) => (await row.locator(`[data-testid=${id}]`).textContent()).trim();
  expect((await cell("box-profile")).length > 1, "a box profile");
  expect((await cell("calibration")).startsWith("not calibrated"), `calibration state: ${await cell("calibration")}`);
  expect(/\d/.test(await cell("last-snapshot")), `last snapshot time: ${await cell("last-snapshot")}`);
  expect((await cell("config-version")) === "v3", `config version: ${await cell("config-version")}`);
  await page.locator("section.overview .lists").screenshot({ path: `${OUT}/08-fleet.png` });
});

await finish(browser);
