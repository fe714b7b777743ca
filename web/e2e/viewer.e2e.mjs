// End-to-end test of the viewer: a small demo field (demo/run-demo through
// the real SExtractor), `lcstore serve` on an ephemeral port of 127.0.0.1,
// and Debian's Chromium, headless, driven by playwright-core. It selects an
// object in the table, checks that its curve is drawn with as many points
// as `lcstore lightcurve` prints values, folds it, exports a CSV and
// compares it with `lcstore lightcurve --format csv`, clicks an object on
// the sky map, and clicks a marker on the image. Screenshots go to
// $E2E_ARTIFACTS (default web/test-results).
//
//   LCSTORE=build/lcstore LCSTORE_WEB_DIST=build/web node web/e2e/viewer.e2e.mjs
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const lcstore = resolve(process.env.LCSTORE ?? join(root, "build/lcstore"));
const webDist = resolve(process.env.LCSTORE_WEB_DIST ?? join(root, "build/web"));
const artifacts = resolve(process.env.E2E_ARTIFACTS ?? join(root, "web/test-results"));
const deadline = setTimeout(() => fail("timed out after 240 s"), 240_000);

let server;
let browser;
const scratch = mkdtempSync(join(tmpdir(), "lcstore-e2e-"));

function fail(message) {
  console.error(`viewer e2e: FAILED: ${message}`);
  cleanup();
  process.exit(1);
}

function cleanup() {
  clearTimeout(deadline);
  if (server) server.kill("SIGINT");
  rmSync(scratch, { recursive: true, force: true });
}

function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log(`ok: ${message}`);
}

function cli(...args) {
  return execFileSync(lcstore, args, { encoding: "utf8", maxBuffer: 64 << 20 });
}

async function startServer(store, images) {
  server = spawn(lcstore, ["serve", store, "--port", "0", "--images", images, "--web", webDist], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolveUrl, reject) => {
    let output = "";
    server.stdout.on("data", (chunk) => {
      output += chunk;
      const found = output.match(/at (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (found) resolveUrl(found[1]);
    });
    server.on("exit", (code) => reject(new Error(`lcstore serve exited with ${code}: ${output}`)));
  });
}

async function main() {
  mkdirSync(artifacts, { recursive: true });
  const demo = join(scratch, "demo");
  execFileSync(join(root, "demo/run-demo"), {
    env: { ...process.env, DEMO_DIR: demo, LCSTORE: lcstore, DEMO_STARS: "300", DEMO_EPOCHS: "8", DEMO_SIZE: "384", DEMO_JOBS: "2" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const store = join(demo, "field.lcs");
  const url = await startServer(store, join(demo, "images"));
  console.log(`server at ${url}`);

  const info = await (await fetch(`${url}api/info`)).json();
  const page1 = await (await fetch(`${url}api/objects?limit=10000&sort=ra`)).json();
  const measurement = info.measurements[0];
  // An object with a light curve: the one with the most values of the first measurement.
  const valuesOf = (key) =>
    cli("lightcurve", store, key, "--measurement", measurement, "--format", "csv")
      .trim()
      .split("\n")
      .slice(1)
      .filter((line) => !line.split(",").at(-2).startsWith("nan")).length;
  const target = page1.objects[Math.floor(page1.objects.length / 2)].object;
  const expectedPoints = valuesOf(target);

  browser = await chromium.launchPersistentContext(join(scratch, "profile"), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1100, height: 800 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const offline = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(url)) offline.push(request.url());
  });
  page.on("pageerror", (error) => fail(`page error: ${error.message}`));

  await page.goto(url);
  await page.waitForSelector("body[data-ready='1']");
  await page.screenshot({ path: join(artifacts, "1-overview.png"), fullPage: true });
  check((await page.textContent("main")).includes(info.shape.join(" x ")), "the overview shows the store's shape");

  // Objects: search the id, tick its box, plot it.
  await page.click("button[data-tab='objects']");
  await page.fill("#object-search", target);
  await page.click(`#object-table .row[data-object='${target}'] input[type='checkbox']`);
  check(page.url().includes(`selected=${target}`), "ticking the box selects the object, in the URL");
  await page.screenshot({ path: join(artifacts, "2-objects.png") });
  await page.click("#plot-selected");
  const panel = await page.waitForSelector(`.panel[data-objects='${target}'] canvas`);
  check(panel !== null, "the light curve is drawn");
  const points = Number(await page.getAttribute(`.panel[data-objects='${target}']`, "data-points"));
  check(points === expectedPoints, `the curve has ${points} points, as many as lcstore lightcurve prints (${expectedPoints})`);
  await page.screenshot({ path: join(artifacts, "3-curve.png") });

  // Fold by a period.
  await page.fill("#period", "3.7");
  await page.press("#period", "Enter");
  await page.waitForFunction(() => document.querySelector(".panel")?.textContent?.includes("folded at P = 3.7"));
  check(page.url().includes("period=3.7"), "the folding period is in the URL");
  const folded = Number(await page.getAttribute(`.panel[data-objects='${target}']`, "data-points"));
  check(folded === expectedPoints, "the folded curve has the same points");
  await page.screenshot({ path: join(artifacts, "4-folded.png") });

  // Export the CSV and compare it with the CLI's.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-csv")]);
  const saved = join(scratch, "export.csv");
  await download.saveAs(saved);
  const exported = execFileSync("cat", [saved], { encoding: "utf8" });
  const expectedCsv = cli("lightcurve", store, target, "--measurement", measurement, "--format", "csv");
  check(exported === expectedCsv, "the exported CSV is lcstore lightcurve --format csv's output");

  // A link reproduces the view.
  const link = page.url();
  const second = await browser.newPage();
  const started = Date.now();
  await second.goto(link);
  await second.waitForSelector(`.panel[data-objects='${target}'] canvas`);
  const firstRender = Date.now() - started;
  console.log(`first render of the linked light curve: ${firstRender} ms after navigation`);
  check(second.url().includes("period=3.7") && (await second.textContent(".panel")).includes("folded at P = 3.7"), "the link opens the same folded view");
  await second.close();

  // Sky: click another object.
  await page.click("button[data-tab='sky']");
  await page.waitForSelector("#sky");
  const projection = JSON.parse(await page.getAttribute("#sky", "data-projection"));
  const other = page1.objects.find((o) => o.object !== target);
  const { raMid, decMid, raScale, scale, width, height } = projection;
  const x = width / 2 - (other.ra - raMid) * raScale * scale;
  const y = height / 2 - (other.dec - decMid) * scale;
  // A drag draws a circle and searches the cone; its objects can be selected.
  const box = await (await page.$("#sky")).boundingBox();
  await page.mouse.move(box.x + width / 2, box.y + height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + width / 2 + 80, box.y + height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForSelector("#select-cone");
  const found = Number((await page.textContent("#cone-results")).match(/: (\d+) objects/)[1]);
  check(found > 0, `dragging a circle finds ${found} objects in the cone`);
  await page.screenshot({ path: join(artifacts, "5-sky.png") });
  await page.click("#select-cone");
  await page.waitForFunction((n) => (new URLSearchParams(location.hash.slice(1)).get("selected") ?? "").split(",").length === n, Math.min(found, info.limits.max_page));
  check(true, "the cone's objects are selected, in the URL");
  await page.click("#sky", { position: { x, y } });
  await page.waitForSelector(".panel canvas");
  const clicked = await page.getAttribute(".panel", "data-objects");
  const near = page1.objects.filter((o) => Math.hypot(o.ra - other.ra, o.dec - other.dec) < 1e-9);
  check(clicked === other.object || near.some((o) => o.object === clicked), `clicking object ${other.object} on the sky plots it (${clicked})`);

  // Image: a cutout around the selection with markers; clicking one selects it.
  await page.click("button[data-tab='image']");
  await page.waitForSelector("#cutout");
  await page.waitForFunction(() => document.querySelector("#cutout")?.complete && document.querySelectorAll(".marker").length > 0);
  await page.selectOption("#cmap", "viridis");
  await page.waitForFunction(() => document.querySelectorAll(".marker").length > 0);
  const marker = await page.$(".marker:not(.selected)");
  const markerObject = await marker.getAttribute("data-object");
  await marker.click();
  await page.waitForFunction((key) => location.hash.includes(key), markerObject);
  check(page.url().includes(markerObject), `clicking the marker of ${markerObject} selects it`);
  await page.waitForFunction(
    (key) => document.querySelector("#cutout")?.complete && document.querySelector(`.marker.selected[data-object='${key}']`),
    markerObject,
  );
  await page.screenshot({ path: join(artifacts, "6-image.png") });

  check(offline.length === 0, `the page loaded nothing from outside the server (${offline.join(", ")})`);
  await browser.close();
}

main()
  .then(() => {
    cleanup();
    console.log("viewer e2e: passed");
    process.exit(0);
  })
  .catch(async (error) => {
    if (browser) await browser.close().catch(() => {});
    fail(error.stack ?? String(error));
  });
