'use strict';
/*
 * Sluice browser tests: what a user does, in real headless Chromium.
 * Started by tests/browser/browser.sh, which runs sluice-serve with
 * tests/data/browser.conf (burn: lock "one", 1 slot, queue 2; mandelbrot:
 * lock "pool"; echo: a Python worker on lock "w"; restyle: the example
 * image worker on lock "img"; max_active 2 per session) and sets:
 *   SLUICE_URL        http://127.0.0.1:PORT
 *   SLUICE_CHROMIUM   the browser binary (Debian's /usr/bin/chromium)
 *   SLUICE_ARTIFACTS  where screenshots go (build dir)
 * Prints TAP, one line per test. Every page fails its test on a JavaScript
 * dialog (alert: injected script ran), an uncaught page error, a Content
 * Security Policy violation (the pages run under the CSP the server sends:
 * nothing inline may be blocked) or an accessibility violation that
 * axe-core finds, at every load and once more as each test leaves it.
 */
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

/* axe-core's source, evaluated in the page through the DevTools protocol
   (page.evaluate of a string): the page's CSP does not apply to that,
   while a script tag with it inline would be refused. */
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TIMEOUT_MS = 20000;

const BASE = process.env.SLUICE_URL;
const EXE = process.env.SLUICE_CHROMIUM || '/usr/bin/chromium';
const ART = process.env.SLUICE_ARTIFACTS || '.';
const TEST_TIMEOUT_MS = 60000;
const SUITE_TIMEOUT_MS = 300000;
const JOB_RE = /\/jobs\/([0-9a-f]{32})$/;

const tests = [];
function test(name, fn) { tests.push({ name, fn }); }

class Fail extends Error {}
function assert(cond, msg) { if (!cond) throw new Fail(msg); }
function eq(got, want, what) {
	if (got !== want)
		throw new Fail(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let browser;
let problems = [];	/* dialogs, page errors, CSP and axe findings of the running test */
let checks = [];	/* axe runs started at page loads, awaited at the test's end */
let contexts = [];	/* closed after each test */
const noScript = new WeakSet();	/* contexts without JavaScript: no axe there */

async function session(opts = {}) {
	const ctx = await browser.newContext({
		baseURL: BASE,
		viewport: { width: 1100, height: 800 },
		colorScheme: 'light',
		...opts,
	});
	contexts.push(ctx);
	if (opts.javaScriptEnabled === false)
		noScript.add(ctx);
	/* CSP violations as the page sees them (the console has them too). */
	await ctx.exposeBinding('__sluiceCsp', ({ page }, what) => csp(page, what));
	await ctx.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			window.__sluiceCsp(`${e.effectiveDirective} refused ` +
			    `${e.blockedURI || 'inline'} at ${e.sourceFile || '?'}:${e.lineNumber}` +
			    `${e.sample ? ` (${e.sample})` : ''}`);
		}, true);
	});
	ctx.on('page', watch);
	const page = await ctx.newPage();
	return page;
}

function watch(page) {
	page.on('dialog', (d) => {
		problems.push(`unexpected ${d.type()} dialog: ${d.message()}`);
		d.dismiss().catch(() => {});
	});
	page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
	page.on('console', (m) => {
		if (/Content Security Policy/i.test(m.text()))
			csp(page, `console: ${m.text()}`);
	});
	page.on('load', () => checks.push(axe(page, 'load')));
}

function csp(page, what) {
	const line = `CSP violation on ${new URL(page.url()).pathname}: ${what}`;
	if (!problems.includes(line))
		problems.push(line);
}

/* One axe run at a time per page (axe refuses a second): page -> the last. */
const axeRuns = new WeakMap();

/*
 * Runs axe-core on the page as it is now (after the page's run before);
 * each violation (rule, impact, the first nodes) becomes a problem of the
 * running test. A page that navigates meanwhile is not checked: its next
 * page is, at its load. Not
 * run where the page has no JavaScript (axe.run's timers never fire
 * there): those pages are the same templates the other tests check, and
 * the console still reports their CSP violations. Nor on a context's
 * about:blank, never navigated.
 */
function axe(page, when) {
	const run = (axeRuns.get(page) || Promise.resolve()).then(() => axeOnce(page, when));
	axeRuns.set(page, run);
	return run;
}

async function axeOnce(page, when) {
	const sink = problems;	/* the test that started it, even if it ends first */
	if (page.isClosed() || noScript.has(page.context()) || page.url() === 'about:blank')
		return;
	const where = new URL(page.url()).pathname;
	let found;
	try {
		found = await withTimeout((async () => {
			if (!await page.evaluate(() => typeof window.axe === 'object'))
				await page.evaluate(AXE);
			/* No axe in the document just given it: a new one came
			   meanwhile (a navigation), which is checked at its load. */
			return page.evaluate(async () => {
				if (typeof window.axe !== 'object')
					return null;
				const r = await window.axe.run(document, { resultTypes: ['violations'] });
				return r.violations.map((v) => ({ id: v.id, impact: v.impact,
				    nodes: v.nodes.length, targets: v.nodes.slice(0, 3).map((n) =>
				    n.target.join(' ')) }));
			});
		})(), AXE_TIMEOUT_MS, `axe on ${where}`);
	} catch (e) {
		if (page.isClosed() || /context was destroyed|navigat|closed/i.test(e.message))
			return;
		sink.push(`axe could not run on ${where} (${when}): ${e.message.split('\n')[0]}`);
		return;
	}
	if (found === null)
		return;
	const scheme = await page.evaluate(() =>
	    matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light').catch(() => '?');
	for (const v of found)
		sink.push(`axe on ${where} (${when}, ${scheme}): ${v.id} [${v.impact}] ` +
		    `${v.nodes} node(s): ${v.targets.join(' | ')}`);
}

/* The test's end: the load-time runs, then every page still open as it is now. */
async function axeAll() {
	const pending = checks;
	checks = [];
	await Promise.all(pending);
	for (const ctx of contexts)
		for (const page of ctx.pages())
			await axe(page, 'end of test');
}

function jobId(page) {
	const m = JOB_RE.exec(new URL(page.url()).pathname);
	assert(m, `not on a job page: ${page.url()}`);
	return m[1];
}

/* Fills a task's form (values: name -> string) and presses Run. */
async function fill(page, task, values) {
	for (const [k, v] of Object.entries(values))
		await page.fill(`#task-${task} input[name="${k}"]`, String(v));
}
async function run(page, task, values = {}, how = 'click') {
	await fill(page, task, values);
	const button = page.locator(`#task-${task} button[type=submit]`);
	/*
	 * A double click submits twice: the second navigation may abort
	 * the first (ERR_ABORTED); the page it lands on is what counts.
	 */
	const landed = page.waitForURL(JOB_RE, { timeout: 30000 }).catch((e) => {
		if (how !== 'dblclick' || !/ERR_ABORTED/.test(String(e)))
			throw e;
		return page.waitForURL(JOB_RE, { timeout: 30000 });
	});
	await Promise.all([
		landed,
		how === 'dblclick' ? button.dblclick() : button.click(),
	]);
	return jobId(page);
}

async function state(page) {
	return page.locator('#job').getAttribute('data-state', { timeout: 2000 });
}

/* Waits for the job page to show one of states, by itself (JS or refresh). */
async function until(page, states, ms = 30000) {
	const end = Date.now() + ms;
	let s = null;
	while (Date.now() < end) {
		try { s = await state(page); } catch (e) { s = null; /* navigating */ }
		if (states.includes(s)) return s;
		await sleep(100);
	}
	throw new Fail(`job never reached ${states.join('/')} (last seen: ${s})`);
}

/* Arms a job page: a marker that a reload would lose, a log of aria-live text. */
async function arm(page) {
	await page.evaluate(() => {
		window.__sluiceMarker = 42;
		window.__live = [];
		const live = document.getElementById('job-live');
		new MutationObserver(() => {
			window.__live.push(live.textContent.replace(/\s+/g, ' ').trim());
		}).observe(live, { childList: true, subtree: true, characterData: true });
	});
}
async function armed(page) {
	return page.evaluate(() => window.__sluiceMarker === 42);
}

async function resultRows(page) {
	return page.$$eval('#job-live table.result tr', (trs) => Object.fromEntries(
	    trs.map((tr) => [tr.querySelector('th').textContent.trim(),
	    tr.querySelector('td').textContent.trim()])));
}

async function jobCount(page) {
	await page.goto('/');
	return page.locator('section.jobs .job-list li').count();
}

/* ---- the tests ---- */

test('app page: a form per task with csrf and nonce, locks, no jobs yet', async () => {
	const page = await session();
	const r = await page.goto('/');
	eq(r.status(), 200, 'GET / status');
	eq(await page.locator('form.task').count(), 5, 'task forms');
	for (const t of ['burn', 'mandelbrot', 'both', 'echo']) {
		const f = page.locator(`#task-${t}`);
		eq(await f.getAttribute('method'), 'post', `${t} method`);
		eq(await f.getAttribute('action'), `/tasks/${t}`, `${t} action`);
		assert(/^[0-9a-f]{64}$/.test(await f.locator('input[name=csrf]').inputValue()),
		    `${t}: csrf is not 64 hex`);
		assert(/^[0-9a-f]{32}$/.test(await f.locator('input[name=nonce]').inputValue()),
		    `${t}: nonce is not 32 hex`);
		assert(await f.locator('button[type=submit]').isVisible(), `${t}: no Run button`);
	}
	/* Every visible input has a label (the input sits inside its label). */
	const unlabelled = await page.$$eval(
	    'form.task input:not([type=hidden]), form.task select, form.task textarea',
	    (ins) => ins.filter((i) => !i.closest('label')).map((i) => i.name));
	eq(unlabelled.length, 0, `inputs without a label (${unlabelled})`);
	eq(await page.locator('#task-burn input[name=ms]').getAttribute('max'), '600000', 'burn ms max');
	eq(await page.locator('li.lock').count(), 4, 'locks listed');
	eq(await page.locator('#task-echo select[name=style] option').count(), 2, 'choice: a select');
	eq(await page.locator('#task-echo input[type=checkbox][name=loud]').count(), 1, 'bool: a checkbox');
	eq(await page.locator('#task-echo textarea[name=note]').count(), 1, 'long text: a textarea');
	assert(await page.locator('section.jobs .empty').isVisible(), 'no "no jobs yet" text');
	await page.screenshot({ path: path.join(ART, 'index.png'), fullPage: true });
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.screenshot({ path: path.join(ART, 'index-dark.png'), fullPage: true });
	await axe(page, 'dark');
});

test('with JS: burn runs, the page updates in place to done, aria-live announces it', async () => {
	const page = await session();
	let navigations = 0;
	await page.goto('/');
	const id = await run(page, 'burn', { ms: 3000 });
	/* Both read at once: the stream may move the job on in between. */
	const [first, badge] = await page.evaluate(() => [
	    document.getElementById('job').dataset.state,
	    document.getElementById('job-state').textContent.trim()]);
	assert(['queued', 'running'].includes(first), `landed in state ${first}`);
	eq(badge, first, 'state badge');
	assert(await page.locator('#job-live .spinner').count() === 1, 'no spinner while waiting');
	eq(await page.locator('#job-live').getAttribute('aria-live'), 'polite', 'aria-live');
	eq(await page.locator('meta[http-equiv=refresh]').count(), 0,
	    'meta refresh still present with JS (it should be removed)');
	await arm(page);
	page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
	await page.waitForFunction(() => document.getElementById('job').dataset.state === 'done',
	    null, { timeout: 30000 });
	assert(await armed(page), 'the page was reloaded (marker lost)');
	eq(navigations, 0, 'navigations while waiting');
	eq(new URL(page.url()).pathname, `/jobs/${id}`, 'still on the job page');
	eq((await page.locator('#job-state').textContent()).trim(), 'done', 'state badge');
	assert((await page.getAttribute('#job-state', 'class')).includes('state-done'), 'badge class');
	const live = await page.evaluate(() => window.__live);
	assert(live.length > 0, 'the aria-live region never changed');
	assert(/Done/.test(live[live.length - 1]), `last aria-live text: ${live[live.length - 1]}`);
	const rows = await resultRows(page);
	assert('elapsed_ms' in rows, `no elapsed_ms in result table (${JSON.stringify(rows)})`);
	const ms = Number(rows.elapsed_ms);
	assert(Number.isFinite(ms) && ms > 0, `elapsed_ms = ${rows.elapsed_ms}`);
	eq(await page.locator('#job-live .spinner').count(), 0, 'spinner left after done');
});

/*
 * Live updates: the job page follows its event stream (nchan), so a
 * finished job is on screen at once, not at the next poll. The bound is
 * functional and loose on purpose (make bench measures the latency).
 */
/* One burn job of ms on a fresh page: when #job showed done, the job JSON. */
async function watchDone(page, ms) {
	await page.goto('/');
	const id = await run(page, 'burn', { ms });
	await page.evaluate(() => {
		window.__progress = [];
		window.__doneAt = null;
		const job = document.getElementById('job');
		new MutationObserver(() => {
			const p = document.getElementById('job-progress');
			if (p && p.value && window.__progress[window.__progress.length - 1] !== p.value)
				window.__progress.push(p.value);
			if (job.dataset.state === 'done' && window.__doneAt === null)
				window.__doneAt = Date.now();
		}).observe(job, { attributes: true, childList: true, subtree: true });
	});
	await page.waitForFunction(() => window.__doneAt !== null, null, { timeout: 30000 });
	const doneAt = await page.evaluate(() => window.__doneAt);
	const j = await (await page.context().request.get(`/jobs/${id}.json`)).json();
	eq(j.state, 'done', 'job JSON');
	return { id, late: doneAt - j.finished_ms, progress: await page.evaluate(() => window.__progress) };
}

/*
 * The bound holds for the best of three jobs: one late frame on a loaded
 * machine is not what this tests; a page that polls (up to 2 s apart)
 * would miss it three times, and must not poll at all here.
 */
test('live: done on screen within 300 ms of finished_ms, the progress bar moves, no polling', async () => {
	const page = await session();
	const seen = [];
	page.on('request', (r) => seen.push(new URL(r.url()).pathname));
	const lates = [];
	for (let i = 0; i < 3 && !lates.some((l) => l <= 300); i++) {
		const { id, late, progress } = await watchDone(page, 2000);
		lates.push(late);
		assert(progress.length >= 2 && progress[progress.length - 1] > progress[0],
		    `the progress bar did not move: ${JSON.stringify(progress)}`);
		assert(seen.includes(`/jobs/${id}/events`), 'the page never opened its event stream');
		const polls = seen.filter((p) => p === `/jobs/${id}.json`).length;
		assert(polls <= 1, `the page polled the JSON ${polls} times while streaming`);
	}
	assert(lates.some((l) => l <= 300), `done shown ${lates.join(', ')} ms after finished_ms`);
});

test('live: when the stream is refused (no nchan), the page polls and still completes', async () => {
	const page = await session();
	await page.route('**/jobs/*/events', (r) => r.fulfill({
		status: 503, contentType: 'application/json',
		body: '{"error":"live updates are off here"}',
	}));
	await page.goto('/');
	await run(page, 'burn', { ms: 500 });
	await arm(page);
	await page.waitForFunction(() => document.getElementById('job').dataset.state === 'done',
	    null, { timeout: 30000 });
	assert(await armed(page), 'the page was reloaded (marker lost)');
});

test('live: the app page gauges follow another session submitting', async () => {
	const watcher = await session(), other = await session();
	await watcher.goto('/');
	await watcher.evaluate(() => { window.__sluiceMarker = 42; });
	const busy = watcher.locator('.lock[data-lock="one"] .busy');
	eq((await busy.textContent()).trim(), '0', 'lock one idle at first');
	await submitHttp(other.context(), 'burn', { ms: 1500 });
	/* The count and the meter (its value: no style attribute under the CSP). */
	await watcher.waitForFunction(() => {
		const li = document.querySelector('.lock[data-lock="one"]');
		const m = li.querySelector('meter');
		return li.querySelector('.busy').textContent.trim() === '1' &&
		    m.value === 1 && m.max === 1;
	}, null, { timeout: 10000 });
	await watcher.waitForFunction(() => {
		const li = document.querySelector('.lock[data-lock="one"]');
		return li.querySelector('.busy').textContent.trim() === '0' &&
		    li.querySelector('meter').value === 0;
	}, null, { timeout: 15000 });
	assert(await armed(watcher), 'the app page was reloaded (marker lost)');
});

/*
 * Queue scenario on lock "one" (1 slot, queue 2). The job holding the slot
 * is submitted over plain HTTP (no page to render, so its start does not
 * depend on how fast the browser is) and runs BLOCK_MS, long enough for two
 * browser sessions to queue behind it even on a loaded machine.
 */
const BLOCK_MS = 10000;
let queue = null;	/* shared by the two queue tests */

/* Submits a job for this context's session without a page; returns its JSON. */
async function submitHttp(ctx, task, values) {
	const s = await ctx.request.get('/session.json');
	eq(s.status(), 200, 'session.json');
	const { csrf } = await s.json();
	const r = await ctx.request.post(`/tasks/${task}`, {
		headers: { Accept: 'application/json' },
		form: { csrf, nonce: `blocker-${Date.now()}`, ...values },
	});
	eq(r.status(), 202, `HTTP submit of ${task}`);
	return r.json();
}

test('two sessions queue behind a running job and see their positions', async () => {
	queue = null;
	const a = await session(), b = await session(), c = await session();
	const keep = contexts.splice(0);	/* the next test closes them */
	try {
		await Promise.all([b.goto('/'), c.goto('/')]);
		const blocker = await submitHttp(a.context(), 'burn', { ms: BLOCK_MS });
		eq(blocker.state, 'running', 'first job (a free slot)');
		const t0 = Date.now();
		const idb = await run(b, 'burn', { ms: 300 });
		eq(await state(b), 'queued', 'second session while the first runs');
		eq((await b.locator('#job-position').textContent()).trim(), 'Next in line.',
		    'second: position');
		assert(await b.locator('#job-live .spinner').count() === 1, 'no spinner');
		const idc = await run(c, 'burn', { ms: 300 });
		eq(await state(c), 'queued', 'third session');
		eq((await c.locator('#job-position').textContent()).trim(), '1 job(s) ahead of you.',
		    'third: position');
		const eta = c.locator('#job-eta');
		if (await eta.count())
			assert(/^\d+(\.\d)?$/.test((await eta.textContent()).trim()), 'eta is not a number');
		await arm(c);
		/* Each session sees only its own jobs. */
		const other = await b.request.get(`/jobs/${idc}.json`);
		eq(other.status(), 404, "another session's job");
		queue = { b, c, idb, keep, t0 };
	} finally {
		if (!queue)
			contexts.push(...keep);
	}
});

test('cancel a queued job with its button; the one behind moves up in place', async () => {
	assert(queue, 'needs the previous test');
	const { b, c, idb, keep, t0 } = queue;
	contexts.push(...keep);
	queue = null;
	eq(await state(b), 'queued', 'second job before cancel');
	const cancel = b.locator('#job-live button', { hasText: 'Cancel' });
	assert(await cancel.isVisible(), 'no Cancel button');
	await cancel.click();
	await until(b, ['cancelled'], 10000);
	console.log(`# cancelled ${Date.now() - t0} ms after the ${BLOCK_MS} ms blocker started`);
	eq(new URL(b.url()).pathname, `/jobs/${idb}`, 'back on the job page');
	eq((await b.locator('#job-state').textContent()).trim(), 'cancelled', 'badge');
	assert(/cancelled/.test(await b.locator('#job-live').textContent()), 'no reason shown');
	eq(await b.locator('#job-live button').count(), 0, 'Cancel button still there');
	eq(await b.locator('meta[http-equiv=refresh]').count(), 0, 'final page refreshes');
	/* c moves up without a reload, then runs once the blocker ends. */
	await c.waitForFunction(() => {
		const p = document.getElementById('job-position');
		return p && p.textContent.trim() === 'Next in line.';
	}, null, { timeout: 10000 });
	await until(c, ['done'], BLOCK_MS + 20000);
	assert(await armed(c), 'the third page was reloaded (marker lost)');
	const live = await c.evaluate(() => window.__live);
	assert(live.some((t) => /Next in line/.test(t)), 'position change not in aria-live region');
	/* (The short running phase may fall between two polls: not asserted.) */
	assert(/Done/.test(live[live.length - 1]), 'done not in aria-live region');
});

test('with JS: mandelbrot result image loads, download link works', async () => {
	const page = await session();
	await page.goto('/');
	const id = await run(page, 'mandelbrot', { width: 800, height: 600 });
	await until(page, ['done']);
	const img = page.locator('#job-live figure.result-img img');
	await img.waitFor({ timeout: 5000 });
	await page.waitForFunction(() => {
		const i = document.querySelector('#job-live figure.result-img img');
		return i && i.complete;
	}, null, { timeout: 10000 });
	const size = await img.evaluate((i) => [i.naturalWidth, i.naturalHeight]);
	eq(size.join('x'), '800x600', 'image natural size');
	assert((await img.getAttribute('alt')).length > 0, 'image without alt text');
	const link = page.locator('#job-live a[download]');
	eq(await link.getAttribute('href'), `/jobs/${id}/files/image`, 'download href');
	assert(/\.png$/.test(await link.getAttribute('download')), 'download name');
	const r = await page.request.get(`/jobs/${id}/result.png`);
	eq(r.status(), 200, 'PNG status');
	eq(r.headers()['content-type'], 'image/png', 'PNG content type');
	const body = await r.body();
	eq(body.subarray(1, 4).toString(), 'PNG', 'PNG signature');
	const rows = await resultRows(page);
	assert(Object.keys(rows).length > 0, 'no result table');
	await page.screenshot({ path: path.join(ART, 'job-mandelbrot.png'), fullPage: true });
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.screenshot({ path: path.join(ART, 'job-mandelbrot-dark.png'), fullPage: true });
	await axe(page, 'dark');
});

test('a field error is shown beside the field, with the value kept', async () => {
	const page = await session();
	await page.goto('/');
	/* The browser's own validation would stop this; the server must too. */
	await page.$eval('#task-burn', (f) => { f.noValidate = true; });
	await fill(page, 'burn', { ms: '99999999' });
	const [resp] = await Promise.all([
		page.waitForNavigation(),
		page.click('#task-burn button[type=submit]'),
	]);
	eq(resp.status(), 400, 'status');
	assert(await page.locator('.notice').isVisible(), 'no notice at the top');
	const input = page.locator('#task-burn input[name=ms]');
	eq(await input.inputValue(), '99999999', 'value kept');
	eq(await input.getAttribute('aria-invalid'), 'true', 'aria-invalid');
	const msg = await input.evaluate((i) => {
		const e = document.getElementById(i.getAttribute('aria-describedby'));
		return e && i.closest('label') === e.closest('label') ? e.textContent : null;
	});
	assert(msg && /600000/.test(msg), `message beside the field: ${msg}`);
	assert(await page.locator('#task-burn .field-error').isVisible(), 'message not visible');
	eq(await page.locator('#task-both input[name=ms]').inputValue(), '1000',
	    'the other form kept its default');
	eq(await page.locator('#task-both .field-error').count(), 0, 'error on the other form');
	await page.screenshot({ path: path.join(ART, 'field-error.png'), fullPage: false });
	/* Fix it and submit again: the re-rendered form works. */
	await run(page, 'burn', { ms: 200 });
	await until(page, ['done']);
});

test('script in a field comes back escaped, never executed', async () => {
	const page = await session();
	await page.goto('/');
	const evil = {
		cx: '<script>alert("xss1")</script>',
		cy: '"><img src=x onerror=alert("xss2")>',
		iters: "'><svg onload=alert(3)>",
	};
	await page.$eval('#task-mandelbrot', (f, evil) => {
		f.noValidate = true;
		for (const [k, v] of Object.entries(evil)) {
			const i = f.querySelector(`input[name="${k}"]`);
			i.type = 'text';
			i.value = v;
		}
	}, evil);
	const [resp] = await Promise.all([
		page.waitForNavigation(),
		page.click('#task-mandelbrot button[type=submit]'),
	]);
	eq(resp.status(), 400, 'status');
	await sleep(500);	/* give an injected onerror/onload the chance to fire */
	for (const [k, v] of Object.entries(evil)) {
		const i = page.locator(`#task-mandelbrot input[name="${k}"]`);
		eq(await i.getAttribute('value'), v, `${k}: value attribute`);
		eq(await i.getAttribute('aria-invalid'), 'true', `${k}: marked invalid`);
	}
	eq(await page.locator('main img, main svg').count(), 0, 'injected elements');
	eq(await page.evaluate(() => document.scripts.length), 1, 'script elements (app.js only)');
	eq(await jobCount(page), 0, 'jobs created');
});

test('double click, a replayed POST and a reload start one job only', async () => {
	const page = await session();
	await page.goto('/');
	await fill(page, 'burn', { ms: 300 });
	const body = await page.$eval('#task-burn',
	    (f) => new URLSearchParams(new FormData(f)).toString());
	const id = await run(page, 'burn', {}, 'dblclick');
	/* The same form (same nonce) arriving again, e.g. a second click. */
	const again = await page.evaluate(async (body) => {
		const r = await fetch('/tasks/burn', { method: 'POST', body,
		    headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
		return { status: r.status, url: r.url };
	}, body);
	eq(again.status, 200, 'replayed POST (after its redirect)');
	eq(new URL(again.url).pathname, `/jobs/${id}`, 'replayed POST lands on the same job');
	await page.reload();
	eq(jobId(page), id, 'after reload');
	await until(page, ['done']);
	eq(await jobCount(page), 1, 'jobs in "Your recent jobs"');
});

test('a worker task: choose inputs, watch the progress bar move, cancel it running', async () => {
	const page = await session();
	await page.goto('/');
	await page.fill('#task-echo input[name=ms]', '20000');
	await page.selectOption('#task-echo select[name=style]', 'neon');
	await page.check('#task-echo input[type=checkbox][name=loud]');
	await page.fill('#task-echo textarea[name=note]', 'two\nlines');
	await Promise.all([
		page.waitForURL(JOB_RE, { timeout: 30000 }),
		page.locator('#task-echo button[type=submit]').click(),
	]);
	const id = jobId(page);
	await until(page, ['running']);
	const bar = page.locator('#job-progress');
	await bar.waitFor({ timeout: 10000 });
	const value = async () => Number(await bar.getAttribute('value'));
	let first = null;
	const end = Date.now() + 15000;
	while (first === null && Date.now() < end) {
		const v = await bar.getAttribute('value');
		if (v !== null) first = Number(v);
		else await sleep(100);
	}
	assert(first !== null, 'the progress bar never got a value');
	let later = first;
	while (later <= first && Date.now() < end) {
		await sleep(300);
		later = await value();
	}
	assert(later > first, `the progress bar did not move (${first} -> ${later})`);
	eq(await bar.getAttribute('aria-valuenow'), String(later), 'aria-valuenow follows');
	assert(/step \d+ of \d+/.test(await page.locator('#job-progress-text').textContent()),
	    'the progress message is shown');
	await Promise.all([
		page.waitForURL(JOB_RE, { timeout: 30000 }),
		page.locator('#job-live button', { hasText: 'Cancel' }).click(),
	]);
	eq(jobId(page), id, 'back on the job page');
	eq(await until(page, ['cancelled', 'done', 'failed'], 10000), 'cancelled', 'final state');
	const j = await (await page.request.get(`/jobs/${id}.json`)).json();
	eq(j.params.style, 'neon', 'the choice reached the job');
	eq(j.params.loud, true, 'the checkbox reached the job');
	eq(j.params.note, 'two\nlines', 'the textarea reached the job');
});

const IMAGES = path.join(__dirname, '..', 'data', 'images');

test('upload a photo: choose it, submit, see it beside the result, download the result', async () => {
	const page = await session();
	await page.goto('/');
	const form = page.locator('#task-restyle');
	eq(await form.getAttribute('enctype'), 'multipart/form-data', 'form encoding');
	const input = form.locator('input[type=file][name=photo]');
	eq(await input.getAttribute('accept'), 'image/png,image/jpeg', 'accept');
	assert(/PNG or JPEG, at most/.test(await form.locator('.file-limits').textContent()),
	    'the limits are shown');
	await input.setInputFiles(path.join(IMAGES, 'photo.jpg'));
	await page.selectOption('#task-restyle select[name=style]', 'neon');
	await Promise.all([
		page.waitForURL(JOB_RE, { timeout: 30000 }),
		form.locator('button[type=submit]').click(),
	]);
	const id = jobId(page);
	await until(page, ['done'], 45000);
	const natural = async (sel) => {
		const img = page.locator(sel);
		await img.waitFor({ timeout: 5000 });
		await page.waitForFunction((s) => {
			const i = document.querySelector(s);
			return i && i.complete && i.naturalWidth > 0;
		}, sel, { timeout: 10000 });
		return (await img.evaluate((i) => [i.naturalWidth, i.naturalHeight])).join('x');
	};
	eq(await natural('#job-images figure.input-img img'), '80x60', 'the upload beside it');
	eq(await natural('#job-images figure.result-img img'), '80x60', 'the result image');
	const link = page.locator('#job-images figure.result-img a[download]');
	const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
	eq(download.suggestedFilename(), 'restyled.png', 'download name');
	const saved = require('fs').readFileSync(await download.path());
	eq(saved.subarray(1, 4).toString(), 'PNG', 'the download is the PNG');
	eq((await page.locator('#job-downloads a').textContent()).trim(), 'palette.csv',
	    'the other file is a download');
	const j = await (await page.request.get(`/jobs/${id}.json`)).json();
	eq(j.inputs.photo.filename, 'photo.jpg', 'the file name is kept');
	eq(j.params.style, 'neon', 'the choice reached the job');
	await page.screenshot({ path: path.join(ART, 'job-restyle.png'), fullPage: true });
});

test('an upload refused by the server: the error beside the field, and why to choose again', async () => {
	const page = await session();
	await page.goto('/');
	const form = page.locator('#task-restyle');
	/* A browser would not send a required field empty: the server must
	   say so itself all the same. */
	await form.locator('input[type=file]').evaluate((i) => i.removeAttribute('required'));
	await Promise.all([
		page.waitForLoadState('load'),
		form.locator('button[type=submit]').click(),
	]);
	await page.waitForSelector('#task-restyle .field-error', { timeout: 10000 });
	assert(/required/.test(await page.locator('#task-restyle .field-error').textContent()),
	    'the reason beside the field');
	assert(/Choose the file again/.test(await page.locator('#task-restyle .file-limits').textContent()),
	    'the user is told to choose the file again');
	eq(await page.locator('#task-restyle input[type=file]').getAttribute('aria-invalid'), 'true',
	    'the field is marked invalid');
	await page.locator('#task-restyle input[type=file]').setInputFiles(path.join(IMAGES, 'photo.gif'));
	await page.locator('#task-restyle input[type=file]').evaluate((i) => i.removeAttribute('accept'));
	await Promise.all([
		page.waitForLoadState('load'),
		page.locator('#task-restyle button[type=submit]').click(),
	]);
	await page.waitForSelector('#task-restyle .field-error', { timeout: 10000 });
	assert(/not a PNG or JPEG/.test(await page.locator('#task-restyle .field-error').textContent()),
	    'a GIF is refused with the reason');
});

test('without JS: submit, meta refresh until done; mandelbrot image shown', async () => {
	const page = await session({ javaScriptEnabled: false });
	let navigations = 0;
	page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
	await page.goto('/');
	const id = await run(page, 'burn', { ms: 3000 }, 'dblclick');
	const first = await state(page);
	assert(['queued', 'running'].includes(first), `landed in state ${first}`);
	const refresh = await page.locator('meta[http-equiv=refresh]').getAttribute('content');
	assert(/^\d+$/.test(refresh) && Number(refresh) >= 1, `meta refresh content ${refresh}`);
	const before = navigations;
	await until(page, ['done']);
	assert(navigations > before, 'done without any refresh?');
	eq(new URL(page.url()).pathname, `/jobs/${id}`, 'still on the job page');
	eq(await page.locator('meta[http-equiv=refresh]').count(), 0, 'final page still refreshes');
	assert('elapsed_ms' in await resultRows(page), 'no elapsed_ms in result');

	await page.goto('/');
	await run(page, 'mandelbrot', { width: 320, height: 240 });
	await until(page, ['done']);
	const img = page.locator('#job-live figure.result-img img');
	await img.waitFor({ timeout: 5000 });
	const end = Date.now() + 5000;
	let size = [0, 0];
	while (Date.now() < end && !(size[0] > 0)) {
		size = await img.evaluate((i) => [i.naturalWidth, i.naturalHeight]);
		if (!(size[0] > 0)) await sleep(100);
	}
	eq(size.join('x'), '320x240', 'image natural size');
	eq(await jobCount(page), 2, 'jobs (the double click made one)');
});

/*
 * The pages no other test visits, and every kind in the dark theme (the
 * harness runs axe at each load and at the end; the CSP watch is on).
 */
test('error pages and the dark theme: axe and the CSP find nothing', async () => {
	for (const colorScheme of ['light', 'dark']) {
		const page = await session({ colorScheme });
		const r = await page.goto('/no/such/page');
		eq(r.status(), 404, `${colorScheme}: a 404 page`);
		eq(await page.locator('h1').count(), 1, `${colorScheme}: the 404 page's h1`);
		await axe(page, '404');
		await page.goto('/');
		/* nginx's own 413 page: a body above client_max_body_size. */
		const form = page.locator('#task-restyle');
		await form.locator('input[type=file]').setInputFiles({ name: 'big.png',
		    mimeType: 'image/png', buffer: Buffer.alloc(2 << 20) });
		const [resp] = await Promise.all([
			page.waitForNavigation(),
			form.locator('button[type=submit]').click(),
		]);
		eq(resp.status(), 413, `${colorScheme}: nginx's 413`);
		await axe(page, '413');
		if (colorScheme === 'light')
			continue;
		await page.goto('/');
		await page.$eval('#task-burn', (f) => { f.noValidate = true; });
		await fill(page, 'burn', { ms: '-1' });
		await Promise.all([page.waitForNavigation(),
		    page.click('#task-burn button[type=submit]')]);
		await axe(page, 'field error');
		await run(page, 'burn', { ms: 1500 });
		await axe(page, 'waiting');
		await until(page, ['done']);
	}
});

/* ---- the harness ---- */

function withTimeout(p, ms, what) {
	let t;
	return Promise.race([p, new Promise((_, rej) => {
		t = setTimeout(() => rej(new Fail(`${what}: timed out after ${ms} ms`)), ms);
	})]).finally(() => clearTimeout(t));
}

function diag(text) {
	for (const line of String(text).split('\n').slice(0, 15))
		console.log(`# ${line}`);
}

async function main() {
	if (!BASE) {
		console.log('Bail out! SLUICE_URL is not set (run through browser.sh)');
		process.exit(1);
	}
	const suiteTimer = setTimeout(() => {
		console.log(`Bail out! browser suite over ${SUITE_TIMEOUT_MS} ms`);
		process.exit(1);
	}, SUITE_TIMEOUT_MS);
	console.log(`1..${tests.length}`);
	try {
		browser = await chromium.launch({
			executablePath: EXE,
			headless: true,
			args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			    '--disable-background-networking', '--disable-component-update',
			    '--disable-sync', '--disable-dev-shm-usage'],
			timeout: 30000,
		});
	} catch (e) {
		console.log(`Bail out! cannot launch ${EXE}: ${e.message.split('\n')[0]}`);
		process.exit(1);
	}
	let failed = 0;
	for (let i = 0; i < tests.length; i++) {
		const t = tests[i];
		const t0 = Date.now();
		problems = [];
		let err = null;
		try {
			await withTimeout(t.fn(), TEST_TIMEOUT_MS, t.name);
			await axeAll();
		} catch (e) {
			err = e;
		}
		checks = [];
		for (const ctx of contexts)
			await ctx.close().catch(() => {});
		contexts = [];
		if (!err && problems.length)
			err = new Fail(problems.join('\n'));
		if (err) {
			failed++;
			console.log(`not ok ${i + 1} - ${t.name}`);
			diag(err instanceof Fail ? err.message : err.stack || err);
			if (problems.length && !(err.message || '').includes(problems[0]))
				diag(problems.join('\n'));
		} else {
			console.log(`ok ${i + 1} - ${t.name} (${Date.now() - t0} ms)`);
		}
	}
	await browser.close().catch(() => {});
	clearTimeout(suiteTimer);
	process.exit(failed ? 1 : 0);
}

main();
