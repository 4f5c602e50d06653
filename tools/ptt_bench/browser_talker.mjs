// ptt-bench's browser talker: Chromium (headless, puppeteer-core from tests/browser) opens
// camera-sim's page, talks the bench's marker stimulus and presses Space by the talk script, and
// writes the presses and the stimulus's start on the host's monotonic clock as client events
// (client_start, key_down, key_up), the timeline pttcam-bench analyze reads in WAV mode.
//   node browser_talker.mjs URL STIMULUS.wav TALK_SCRIPT CLIENT_EVENTS.jsonl RESULT.json opus|red
//
// How a sample's capture instant is known: the page's microphone is replaced (getUserMedia) by a
// Web Audio MediaStreamDestination that plays the stimulus from a known AudioContext time. The
// AudioContext clock is put on performance.now() at the instant it advances (just after a render
// quantum was handed to the track), and performance.now() on the host's CLOCK_MONOTONIC by the
// shortest of several CDP round trips (node's hrtime is CLOCK_MONOTONIC, as camera-sim's clock).
// So "mouth" is when Web Audio hands a sample to the WebRTC track: a real microphone's own
// capture buffer (Chromium's 10 ms) is not in the figure. Key times are the page's own keydown /
// keyup event timestamps, mapped the same way.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";

const require = createRequire(new URL("../../tests/browser/package.json", import.meta.url));
const puppeteer = require("puppeteer-core");

const [url, stimulusPath, talkScript, eventsPath, resultPath, codec] = process.argv.slice(2);
if (!resultPath || !["opus", "red"].includes(codec)) {
  console.error("usage: node browser_talker.mjs URL STIMULUS.wav TALK_SCRIPT EVENTS.jsonl RESULT.json opus|red");
  process.exit(2);
}
const chromium = process.env.PTTCAM_CHROMIUM || "/usr/bin/chromium";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

// A mono WAV's samples as 32-bit floats (16-bit PCM or float).
function readWav(path) {
  const b = readFileSync(path);
  let at = 12, format = 0, bits = 0, channels = 0;
  while (at + 8 <= b.length) {
    const id = b.toString("ascii", at, at + 4), size = b.readUInt32LE(at + 4);
    if (id === "fmt ") { format = b.readUInt16LE(at + 8); channels = b.readUInt16LE(at + 10); bits = b.readUInt16LE(at + 22); }
    if (id === "data") {
      const data = b.subarray(at + 8, at + 8 + size);
      if (channels !== 1) throw new Error(`${path}: not mono`);
      if (format === 3 && bits === 32) return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
      if (format === 1 && bits === 16) return Float32Array.from({ length: data.length / 2 }, (_, i) => data.readInt16LE(2 * i) / 32768);
      throw new Error(`${path}: format ${format}/${bits} bits`);
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

// Runs in the page before its own script: the stimulus source, key timestamps, and (opus) an
// offer without RED.
function inject(noRed) {
  const bench = window.__pttcamBench = { keys: [] };
  const onKey = (e) => { if (e.code === "Space" && !e.repeat) bench.keys.push({ key: e.type === "keydown" ? "down" : "up", t: e.timeStamp }); };
  window.addEventListener("keydown", onKey, true);
  window.addEventListener("keyup", onKey, true);
  navigator.mediaDevices.getUserMedia = async () => {
    bench.ctx = new AudioContext({ sampleRate: 48000 });
    bench.dest = bench.ctx.createMediaStreamDestination();
    bench.dest.channelCount = 1;
    return bench.dest.stream;
  };
  if (noRed) {
    const add = RTCPeerConnection.prototype.addTransceiver;
    RTCPeerConnection.prototype.addTransceiver = function (...args) {
      const tr = add.apply(this, args);
      tr.setCodecPreferences(RTCRtpReceiver.getCapabilities("audio").codecs.filter((c) => !/red/i.test(c.mimeType)));
      return tr;
    };
  }
}

// In the page: schedules the stimulus and returns its start on performance.now()'s clock.
async function startStimulus(b64, leadS) {
  const b = window.__pttcamBench, ctx = b.ctx;
  await ctx.resume();
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const samples = new Float32Array(bytes.buffer);
  const buf = ctx.createBuffer(1, samples.length, 48000);
  buf.copyToChannel(samples, 0);
  const src = ctx.createBufferSource();
  src.buffer = buf;
  src.connect(b.dest);
  // The context clock advances when a render quantum is done: right after a step,
  // performance.now() - currentTime is smallest (a later look only adds the main thread's delay).
  let best = Infinity, last = ctx.currentTime, steps = 0;
  const until = performance.now() + 400;
  while (performance.now() < until) {
    const c = ctx.currentTime;
    if (c !== last) { best = Math.min(best, performance.now() - c * 1000); last = c; ++steps; }
  }
  const when = ctx.currentTime + leadS;
  src.start(when);
  const ts = ctx.getOutputTimestamp();
  return { start_perf_ms: when * 1000 + best, context_to_perf_ms: best, steps,
           output_timestamp_offset_ms: ts.performanceTime - ts.contextTime * 1000,
           base_latency_ms: ctx.baseLatency * 1000, output_latency_ms: (ctx.outputLatency || 0) * 1000 };
}

// performance.now() -> host monotonic µs, from the shortest of n round trips.
async function perfToMono(page, n = 20) {
  let best = null;
  for (let i = 0; i < n; ++i) {
    const a = monoUs();
    const p = await page.evaluate(() => performance.now());
    const b = monoUs();
    if (!best || b - a < best.rtt_us) best = { rtt_us: b - a, offset_us: (a + b) / 2 - p * 1000 };
  }
  return best;
}

async function sleepUntil(tUs) {
  const left = tUs - monoUs();
  if (left > 0) await sleep(left / 1000);
}

async function run(browser, result) {
  const page = await browser.newPage();
  const log = result.log = [];
  page.on("console", (m) => log.push(m.text()));
  page.on("pageerror", (e) => log.push("pageerror: " + e.message));
  await page.evaluateOnNewDocument(inject, codec === "opus");
  await page.goto(url + "?processing=off");
  await page.waitForFunction(() => window.pttcam && window.pttcam.connected, { timeout: 15000 });
  const stim = readWav(stimulusPath);
  const b64 = Buffer.from(stim.buffer, stim.byteOffset, stim.byteLength).toString("base64");
  const clock = result.clock = await perfToMono(page);
  const s = result.stimulus = await page.evaluate(startStimulus, b64, 0.3);
  const startUs = Math.round(s.start_perf_ms * 1000 + clock.offset_us);
  const presses = talkScript.split(",").map((p) => p.split("+").map(Number));
  for (const [at, len] of presses) {
    await sleepUntil(startUs + at * 1e6);
    await page.keyboard.down("Space");
    await sleepUntil(startUs + (at + len) * 1e6);
    await page.keyboard.up("Space");
  }
  await page.waitForFunction((n) => window.pttcam.bursts.length >= n, { timeout: 10000 }, presses.length);
  result.clock_after = await perfToMono(page);
  result.bursts = await page.evaluate(() => window.pttcam.bursts);
  const keys = await page.evaluate(() => window.__pttcamBench.keys);
  const lines = [{ event: "client_start", t_us: startUs, source: "browser_web_audio", codec, ...s, clock }];
  for (const k of keys) lines.push({ event: "key_" + k.key, t_us: Math.round(k.t * 1000 + clock.offset_us) });
  writeFileSync(eventsPath, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
}

const result = { codec };
const browser = await puppeteer.launch({
  executablePath: chromium, headless: true,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--allow-loopback-in-peer-connection",
         "--disable-features=WebRtcHideLocalIpsWithMdns", "--autoplay-policy=no-user-gesture-required",
         "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"],
});
try {
  await run(browser, result);
  result.ok = true;
} catch (e) {
  result.ok = false;
  result.error = String((e && e.stack) || e);
} finally {
  await browser.close();
  writeFileSync(resultPath, JSON.stringify(result, null, 2) + "\n");
}
if (!result.ok) console.error("browser_talker: " + result.error.split("\n")[0]);
process.exit(result.ok ? 0 : 1);
