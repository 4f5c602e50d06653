// Drives Debian's Chromium (headless, through puppeteer-core) against camera-sim --web and
// writes what the page showed as JSON. Called by tests/browser/browser_test.cpp, one scenario a run:
//   node page.mjs SCENARIO URL OUT.json ARTEFACT_DIR [FAKE_CAPTURE.wav]
// Scenarios: talk (hold Space 2 s, then read the per-burst figures), listen (the camera's
// microphone at the page; over https:// too, the certificate errors ignored), deny (microphone
// permission blocked), busy (a second page while the first talks), refused (press on a camera
// without a speaker), cap, power, renumbered (the offer under other payload-type numbers).
import puppeteer from "puppeteer-core";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const [scenario, url, outPath, artefacts, wav] = process.argv.slice(2);
const chromium = process.env.PTTCAM_CHROMIUM || "/usr/bin/chromium";

function launch({ fakeUi = true } = {}) {
  const args = [
    "--no-sandbox",                                        // CI runs as root
    "--disable-dev-shm-usage",                             // containers' /dev/shm is small
    "--allow-loopback-in-peer-connection",                 // 127.0.0.1 host candidates
    "--disable-features=WebRtcHideLocalIpsWithMdns",       // real host candidates, not .local names
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-device-for-media-stream",
  ];
  if (fakeUi) args.push("--use-fake-ui-for-media-stream");
  if (wav) args.push("--use-file-for-fake-audio-capture=" + wav);
  if (url.startsWith("https:")) args.push("--ignore-certificate-errors");  // the tests' self-signed certificate
  return puppeteer.launch({ executablePath: chromium, headless: true, args });
}

async function open(browser, { deny = false } = {}) {
  const page = await browser.newPage();
  const origin = new URL(url).origin;
  if (deny) {
    // Blocked for this origin, as a user who clicked "Block" leaves it.
    const cdp = await page.createCDPSession();
    await cdp.send("Browser.setPermission", { origin, permission: { name: "microphone" }, setting: "denied" });
  }
  const log = [];
  page.on("console", (m) => log.push(m.text()));
  page.on("pageerror", (e) => log.push("pageerror: " + e.message));
  await page.goto(url);
  return { page, log };
}

const connected = (page) => page.waitForFunction(() => window.pttcam && window.pttcam.connected, { timeout: 15000 });
const text = (page, id) => page.$eval("#" + id, (e) => e.textContent);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function talk(browser, result) {
  const { page, log } = await open(browser);
  result.log = log;
  await connected(page);
  await sleep(500);  // the fake capture is running: the hold starts on speech, not on its first samples
  await page.keyboard.down("Space");
  result.pressed_at_ms = Date.now();
  await page.waitForFunction(() => window.pttcam.talking, { timeout: 5000 });
  await sleep(1200);
  result.state_while_held = await text(page, "state");
  await page.screenshot({ path: join(artefacts, "talking.png") });
  await sleep(Math.max(0, 2000 - (Date.now() - result.pressed_at_ms)));
  await page.keyboard.up("Space");
  result.released_at_ms = Date.now();
  await page.waitForFunction(() => window.pttcam.bursts.length > 0, { timeout: 10000 });
  result.state_after = await text(page, "state");
  result.bursts = await page.evaluate(() => window.pttcam.bursts);
  result.burst_rows = await page.$$eval("#bursts tr", (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  result.figures_note = await text(page, "figures");
  await page.screenshot({ path: join(artefacts, "after.png") });
}

async function listen(browser, result) {
  const { page } = await open(browser);
  await connected(page);
  await page.waitForFunction(() => window.pttcam.cameraLevel > 0.01, { timeout: 10000 });
  await sleep(600);
  result.camera_hz = await page.evaluate(() => window.pttcam.cameraHz);
  result.camera_level = await page.evaluate(() => window.pttcam.cameraLevel);
}

async function deny(browser, result) {
  const { page } = await open(browser, { deny: true });
  await page.waitForFunction(() => window.pttcam && window.pttcam.state === "denied", { timeout: 10000 });
  await page.keyboard.down("Space");
  await sleep(300);
  await page.keyboard.up("Space");
  result.notice = await text(page, "notice");
  result.status = await text(page, "status");
  await page.screenshot({ path: join(artefacts, "denied.png") });
}

async function busy(browser, result) {
  const first = await open(browser);
  await connected(first.page);
  const second = await open(browser);
  await connected(second.page);
  await first.page.bringToFront();
  await first.page.keyboard.down("Space");
  await first.page.waitForFunction(() => window.pttcam.talking, { timeout: 5000 });
  await second.page.bringToFront();  // keys go to the tab in front
  await second.page.keyboard.down("Space");
  await second.page.waitForFunction(() => window.pttcam.refusal !== null, { timeout: 5000 });
  result.second_notice = await text(second.page, "notice");
  result.second_refusal = await second.page.evaluate(() => window.pttcam.refusal);
  result.second_talking = await second.page.evaluate(() => window.pttcam.sawTalking);
  await second.page.keyboard.up("Space");
  await first.page.bringToFront();
  await first.page.keyboard.up("Space");
  await second.page.screenshot({ path: join(artefacts, "busy.png") });
}

async function refused(browser, result) {
  const { page } = await open(browser);
  await connected(page);
  await page.keyboard.down("Space");
  await page.waitForFunction(() => window.pttcam.refusal !== null, { timeout: 5000 });
  await page.keyboard.up("Space");
  result.refusal = await page.evaluate(() => window.pttcam.refusal);
  result.notice = await text(page, "notice");
  result.saw_talking = await page.evaluate(() => window.pttcam.sawTalking);
}

// A short live view (camera-sim --session-limit 3 --warn-before 2): the warning, the end, renew.
async function cap(browser, result) {
  const { page } = await open(browser);
  await connected(page);
  await page.waitForFunction(() => document.getElementById("notice").textContent.includes("ends in"), { timeout: 5000 });
  result.warning = await text(page, "notice");
  result.countdown = await text(page, "liveview");
  await page.waitForSelector("#renew:not([hidden])", { timeout: 5000 });
  result.status_at_end = await text(page, "status");
  await page.click("#renew");
  await connected(page);
  result.renewed = true;
}

// A power cycle (the test sends camera-sim SIGHUP once the call is up; --boot-time 1): the page
// sees the camera go and come back.
async function power(browser, result) {
  const { page } = await open(browser);
  await connected(page);
  // However the signal and the page's own "connected" raced, the outage is on record.
  await page.waitForFunction(() => window.pttcam.outages.length > 0, { timeout: 20000 });
  const outage = await page.evaluate(() => window.pttcam.outages[0]);
  result.status_offline = outage.status;
  result.notice_offline = outage.notice;
  await connected(page);
  result.back = true;
}

// The offer under other payload-type numbers (Opus 109, RED 120, as another browser might pick):
// the page's own offer rewritten before it is set (SDP munging), then a 1 s hold and the
// camera's tone, both of which need the camera to renumber each way.
function renumberOffers() {
  const create = RTCPeerConnection.prototype.createOffer;
  RTCPeerConnection.prototype.createOffer = async function (...args) {
    const offer = await create.apply(this, args);
    const sdp = offer.sdp
      .replace(/^(m=audio \S+ \S+ )(.*)$/m, (_, head, pts) => head + pts.split(" ").map((p) => ({ 111: "109", 63: "120" })[p] || p).join(" "))
      .replace(/^a=(rtpmap|fmtp|rtcp-fb):111 /gm, "a=$1:109 ")
      .replace(/^a=(rtpmap|fmtp):63 /gm, "a=$1:120 ")
      .replace(/^(a=fmtp:120 )111\/111/m, "$1109/109");
    return { type: offer.type, sdp };
  };
}

async function renumbered(browser, result) {
  const page = await browser.newPage();
  await page.evaluateOnNewDocument(renumberOffers);
  await page.goto(url);
  await connected(page);
  await page.waitForFunction(() => window.pttcam.cameraLevel > 0.01, { timeout: 10000 });
  result.camera_hz = await page.evaluate(() => window.pttcam.cameraHz);
  await sleep(300);
  await page.keyboard.down("Space");
  await page.waitForFunction(() => window.pttcam.talking, { timeout: 5000 });
  await sleep(1000);
  await page.keyboard.up("Space");
  await page.waitForFunction(() => window.pttcam.bursts.length > 0, { timeout: 10000 });
  result.bursts = await page.evaluate(() => window.pttcam.bursts);
}

const scenarios = { talk, listen, deny, busy, refused, cap, power, renumbered };
const result = { scenario };
const browser = await launch({ fakeUi: scenario !== "deny" });
try {
  await scenarios[scenario](browser, result);
  result.ok = true;
} catch (e) {
  result.ok = false;
  result.error = String(e && e.stack || e);
} finally {
  await browser.close();
  writeFileSync(outPath, JSON.stringify(result, null, 2));
}
process.exit(result.ok ? 0 : 1);
