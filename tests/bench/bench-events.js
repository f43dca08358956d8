/*
 * bench-events.js: how long after a job finishes does the browser show it?
 * Headless Chromium (playwright-core), one session that follows its job's
 * event stream and one whose stream is refused (a 503, as a plain nginx
 * answers), so that app.js polls the JSON; jobs of the two interleaved.
 *
 * For each job: an init script notes Date.now() when #job first says
 * data-state="done"; the job JSON's finished_ms is the server's clock (the
 * same machine). Prints one line per mode:
 *     events browser streaming: N jobs finished-to-shown p50 X ms p99 Y ms max Z ms
 *
 * Environment: SLUICE_URL, SLUICE_CHROMIUM, BENCH_JOBS (streaming jobs,
 * default 50; half as many polling), NODE_PATH for playwright-core.
 */
'use strict';
const { chromium } = require('playwright-core');

const BASE = process.env.SLUICE_URL;
const EXE = process.env.SLUICE_CHROMIUM || '/usr/bin/chromium';
const JOBS = Number(process.env.BENCH_JOBS || 50);
const JOB_RE = /\/jobs\/([0-9a-f]{32})$/;

/* At document start on every page: the moment #job first shows done. */
function noteDone() {
	window.__doneAt = null;
	const check = () => {
		const job = document.getElementById('job');
		if (window.__doneAt === null && job && job.dataset.state === 'done')
			window.__doneAt = Date.now();
	};
	new MutationObserver(check).observe(document, {
		attributes: true, childList: true, subtree: true,
	});
}

async function session(polling) {
	const ctx = await browser.newContext({ baseURL: BASE });
	await ctx.addInitScript(noteDone);
	const page = await ctx.newPage();
	if (polling)
		await page.route('**/jobs/*/events', (r) => r.fulfill({
			status: 503, contentType: 'application/json',
			body: '{"error":"live updates are off here"}',
		}));
	return page;
}

/* Runs one burn job of ms from the app page; returns shown - finished_ms. */
async function once(page, ms) {
	await page.goto('/');
	await page.fill('#task-burn input[name="ms"]', String(ms));
	await Promise.all([
		page.waitForURL(JOB_RE, { timeout: 30000 }),
		page.click('#task-burn button[type=submit]'),
	]);
	const id = JOB_RE.exec(new URL(page.url()).pathname)[1];
	await page.waitForFunction(() => window.__doneAt !== null, null,
	    { timeout: 30000, polling: 50 });
	const doneAt = await page.evaluate(() => window.__doneAt);
	const j = await (await page.context().request.get(`/jobs/${id}.json`)).json();
	if (j.state !== 'done' || !j.finished_ms)
		throw new Error(`job ${id}: state ${j.state}`);
	return doneAt - j.finished_ms;
}

function pct(xs, p) {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)];
}

function report(mode, xs) {
	console.log(`events browser ${mode}: ${xs.length} jobs finished-to-shown ` +
	    `p50 ${pct(xs, 50)} ms p99 ${pct(xs, 99)} ms max ${Math.max(...xs)} ms`);
}

let browser;
async function main() {
	browser = await chromium.launch({
		executablePath: EXE, headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--no-first-run',
		    '--disable-background-networking', '--disable-dev-shm-usage'],
	});
	const streaming = await session(false), polling = await session(true);
	const s = [], p = [];
	for (let i = 0; i < JOBS; i++) {
		/* Job lengths spread over 100-900 ms: polling's back-off
		 * would otherwise hit or miss the end the same way each time. */
		const ms = 100 + (i * 337) % 800;
		s.push(await once(streaming, ms));
		if (i % 2 === 1)
			p.push(await once(polling, ms));
	}
	report('streaming', s);
	report('polling', p);
	const p99 = pct(s, 99);
	console.log(`events browser p99 streaming ${p99} ms vs polling ${pct(p, 99)} ms ` +
	    `(target streaming p99 <= 100 ms: ${p99 <= 100 ? 'meets' : 'MISSES'})`);
	await browser.close();
}

main().catch((e) => {
	console.log(`events browser: FAILED ${e.message.split('\n')[0]}`);
	if (browser)
		browser.close().catch(() => {});
	process.exit(1);
});
