// bench/ux.py's Lighthouse runner: one Chromium per run, the session cookie in its cookie jar (an
// --extra-headers Cookie reaches the document but not every subresource, which then fails with 401), and one
// Lighthouse run per job. Reads a JSON list of jobs {url, width, scheme, cookie: {name, value} | null} on stdin;
// prints one JSON line per job: {url, width, scheme, scores: {category: 0-100}, failing: [audit ids]}.
// Node resolves the imports from bench/.scratch/node_modules (NODE_PATH does not apply to ES modules, so
// bench/ux.py runs this file from a copy placed there).
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";
import puppeteer from "puppeteer-core";

const CATEGORIES = ["performance", "accessibility", "best-practices"];
const jobs = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => { text += chunk; });
  process.stdin.on("end", () => resolve(text));
}));

function flagsFor(width) {
  const flags = { output: "json", logLevel: "error", onlyCategories: CATEGORIES, throttlingMethod: "provided" };
  if (width >= 1000) return { flags, config: desktopConfig };
  const screenEmulation = { mobile: true, width, height: 844, deviceScaleFactor: 3, disabled: false };
  return { flags: { ...flags, formFactor: "mobile", screenEmulation }, config: undefined };
}

// Lighthouse now and then rejects a promise nobody awaits after its run has ended (its quiet-window check on a
// tab already closed: "Protocol error (Page.enable): Session closed"). Node would end the whole bench for it;
// it is logged, and the run it belongs to has already been reported or is retried below.
process.on("unhandledRejection", (reason) => {
  console.error(`lighthouse: ignored a late rejection: ${String(reason?.message || reason).slice(0, 200)}`);
});

function launch(scheme) {
  return puppeteer.launch({
    executablePath: process.env.CHROME_PATH || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", ...(scheme === "dark" ? ["--force-dark-mode"] : [])],
  });
}

// One run in a Chromium of its own: a long bench in one browser ended after ~18 runs with Chromium closing
// Lighthouse's session, and a fresh browser per run costs about a second. A run that throws (a lost trace,
// NO_NAVSTART, or a closed session) is repeated up to twice; one that never answers is given up after 150 s.
async function runJob(job) {
  let thrown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const browser = await launch(job.scheme);
    let timer;
    try {
      const page = await browser.newPage();
      if (job.cookie) await browser.setCookie({ ...job.cookie, url: job.url });
      const { flags, config } = flagsFor(job.width);
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("no result in 150 s")), 150_000);
      });
      const { lhr } = await Promise.race([lighthouse(job.url, flags, config, page), timeout]);
      thrown = undefined;
      if (!lhr.runtimeError || attempt === 2) return { lhr };
    } catch (error) {
      thrown = error;
    } finally {
      clearTimeout(timer);
      await browser.close().catch(() => {});
    }
  }
  return { thrown };
}

for (const job of jobs) {
  const { lhr, thrown } = await runJob(job);
  const scheme = job.scheme;
  if (!lhr) {
    const scores = Object.fromEntries(CATEGORIES.map((name) => [name, 0]));
    const details = { "runtime-error": [String(thrown?.message || thrown).slice(0, 300)] };
    console.log(JSON.stringify({ url: job.url, width: job.width, scheme, scores, failing: ["lighthouse-crashed"], details }));
    continue;
  }
  const scores = {};
  const failing = new Set();
  for (const name of CATEGORIES) {
    const category = lhr.categories[name];
    scores[name] = Math.round(100 * (category.score || 0));
    for (const ref of category.auditRefs) {
      if (ref.weight > 0 && (lhr.audits[ref.id].score ?? 1) < 1) failing.add(ref.id);
    }
  }
  const details = {};
  if (lhr.runtimeError) details["runtime-error"] = [`${lhr.runtimeError.code}: ${lhr.runtimeError.message}`];
  for (const warning of lhr.runWarnings || []) (details["run-warnings"] ||= []).push(warning);
  for (const id of ["errors-in-console", "deprecations", "inspector-issues", "image-aspect-ratio", "image-size-responsive", "layout-shifts", "target-size"]) {
    if (!failing.has(id) && !(id === "layout-shifts" && failing.has("cumulative-layout-shift"))) continue;
    const items = lhr.audits[id]?.details?.items || [];
    if (items.length) details[id] = items.slice(0, 3).map((item) => item.description || item.value || item.issueType || item.url || item.node?.snippet || JSON.stringify(item).slice(0, 160));
  }
  console.log(JSON.stringify({ url: job.url, width: job.width, scheme, scores, failing: [...failing], details }));
}
