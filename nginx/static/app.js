/*
 * Sluice: progressive enhancement, no framework. Without JavaScript the job
 * page refreshes itself (meta refresh); with it, the page listens to the
 * job's event stream (EventSource on /jobs/ID/events, held by nginx's
 * nchan) and updates in place, announcing changes through aria-live. When
 * the stream cannot be had (a plain nginx, an error), it polls the job
 * JSON instead. The app page's lock meters and task ETAs follow /events.
 * Nothing here is inline in the pages, and nothing sets a style attribute:
 * the server's Content-Security-Policy refuses both (README, HTTP).
 *
 * A change of phase (queued -> running -> done/failed/...) brings new
 * markup (Cancel button, result table, image): the page fetches its own
 * HTML again and swaps the content of the aria-live region, so that the
 * change is announced and the page never reloads. If that fetch fails, it
 * falls back to a plain reload.
 */
(function () {
  "use strict";

  function text(id, value) {
    var el = document.getElementById(id);
    if (el && el.textContent !== String(value)) el.textContent = value;
  }

  /* Ticking numbers are visual only: not announced on every poll. */
  function quiet(id) {
    var el = document.getElementById(id);
    if (el) el.setAttribute("aria-live", "off");
  }

  function final(s) { return s !== "queued" && s !== "running"; }

  /* Forms: one submission per click; the nonce already makes repeats harmless. */
  document.querySelectorAll("form.task").forEach(function (form) {
    form.addEventListener("submit", function () {
      var b = form.querySelector("button[type=submit]");
      if (b) { b.disabled = true; b.textContent = "Submitting…"; }
    });
  });
  /* Coming back through the history cache: the button works again. */
  window.addEventListener("pageshow", function (e) {
    if (!e.persisted) return;
    document.querySelectorAll("form.task button[type=submit]").forEach(function (b) {
      b.disabled = false; b.textContent = "Run";
    });
  });

  gauges();

  var job = document.getElementById("job");
  if (!job) return;
  var state = job.getAttribute("data-state");
  if (final(state)) return;

  /*
   * JavaScript takes over from the meta refresh. Removing the element does
   * not cancel a refresh the parser has already scheduled; window.stop()
   * once the page has loaded does. (A <meta> inside <noscript> would never
   * schedule one, and need neither.)
   */
  var meta = document.querySelector('meta[http-equiv="refresh"]');
  if (meta) {
    meta.parentNode.removeChild(meta);
    if (document.readyState === "complete") window.stop();
    else window.addEventListener("load", function () { window.stop(); });
  }

  var url = job.getAttribute("data-json");
  var live = document.getElementById("job-live");
  var delay = 500;
  var shownEta = null, shownPos = null;
  quiet("job-eta");
  quiet("job-elapsed");

  /* Swaps in the markup of the new phase; resolves false when it could not. */
  function swap(newState) {
    return fetch(window.location.pathname, {
      headers: { "Accept": "text/html" }, credentials: "same-origin", cache: "no-store"
    }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var njob = doc.getElementById("job");
      var nlive = doc.getElementById("job-live");
      var nstate = njob && njob.getAttribute("data-state");
      if (!njob || !nlive || !nstate) throw new Error("unexpected page");
      live.innerHTML = nlive.innerHTML;
      var badge = document.getElementById("job-state");
      var nbadge = doc.getElementById("job-state");
      if (badge && nbadge) {
        badge.className = nbadge.className;
        badge.textContent = nbadge.textContent;
      }
      job.setAttribute("data-state", nstate);
      state = nstate;
      shownEta = shownPos = null;
      quiet("job-eta");
      quiet("job-elapsed");
      return true;
    });
  }

  function update(j) {
    if (j.state !== state) return "swap";
    if (j.state === "queued") {
      if (j.position !== shownPos) {
        shownPos = j.position;
        text("job-position", j.position > 0 ? j.position + " job(s) ahead of you." : "Next in line.");
      }
      if (j.eta_ms !== null && j.eta_ms >= 0) {
        var eta = j.eta_ms / 1000;
        /* Small drifts are noise; a real change is worth showing. */
        if (shownEta === null || Math.abs(eta - shownEta) >= 0.5) {
          shownEta = eta;
          text("job-eta", eta.toFixed(1));
        }
      }
    } else if (j.state === "running" && j.started_ms) {
      text("job-elapsed", (Math.max(0, Date.now() - j.started_ms) / 1000).toFixed(1));
      if (j.device) text("job-device", j.device);
      progress(j);
    }
    return "wait";
  }

  /* The progress bar and its text, from the job's progress (0..1). */
  function progress(j) {
    var bar = document.getElementById("job-progress");
    if (!bar || j.progress === null || j.progress === undefined) return;
    var pct = Math.round(j.progress * 100);
    if (bar.getAttribute("value") !== String(pct)) {
      bar.setAttribute("value", pct);
      bar.setAttribute("aria-valuenow", pct);
      bar.textContent = pct + "%";
    }
    text("job-progress-text", pct + "%" +
        (j.progress_message ? " · " + j.progress_message : ""));
  }

  function again(ms) { setTimeout(poll, ms); }

  /* One job JSON, from a poll or an event: shown, or the phase swapped. */
  function apply(j) {
    if (update(j) === "wait") return Promise.resolve(true);
    return swap(j.state).then(function () { return true; }, function () {
      window.location.reload();
      return false;
    });
  }

  /*
   * The stream. Events come in order; a phase change swaps the markup.
   * After a reconnect the JSON is fetched once, so that nothing missed
   * while it was away stays unshown. The stream failing before its first
   * event (no nchan, a 503) means polling; so does one that keeps failing.
   */
  function listen() {
    if (!window.EventSource) return false;
    var es, opened = false, errors = 0, chain = Promise.resolve(true);
    try {
      es = new EventSource(job.getAttribute("data-events"));
    } catch (e) { return false; }
    es.addEventListener("job", function (ev) {
      var j;
      try { j = JSON.parse(ev.data); } catch (e) { return; }
      chain = chain.then(function () { return apply(j); }).then(function () {
        if (final(state)) es.close();
      });
    });
    es.onopen = function () {
      if (opened && errors > 0) resync();
      opened = true;
      errors = 0;
    };
    es.onerror = function () {
      errors++;
      if (es.readyState === 2 || !opened || errors > 3) {
        es.close();
        if (!final(state)) again(delay);
      }
    };
    return true;
  }

  function resync() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(apply).catch(function () {});
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (j) {
        if (update(j) === "wait") {
          delay = Math.min(delay * 1.2, 2000);
          again(delay);
          return;
        }
        return swap(j.state).then(function () {
          if (!final(state)) { delay = 500; again(delay); }
        }, function () {
          window.location.reload();
        });
      })
      .catch(function () { delay = Math.min(delay * 2, 5000); again(delay); });
  }
  if (!listen()) again(delay);

  /* The app page: lock meters and task ETAs from /events (no fallback:
     they are shown right at every page load). */
  function gauges() {
    var locks = document.querySelector(".lock-list");
    if (!locks || !window.EventSource) return;
    var es;
    try { es = new EventSource("/events"); } catch (e) { return; }
    es.addEventListener("gauges", function (ev) {
      var g;
      try { g = JSON.parse(ev.data); } catch (e) { return; }
      (g.locks || []).forEach(function (l) {
        var li = document.querySelector('.lock[data-lock="' + l.name + '"]');
        if (!li) return;
        var busy = li.querySelector(".busy"), queued = li.querySelector(".queued");
        var meter = li.querySelector("meter");
        if (busy && busy.textContent !== String(l.busy)) busy.textContent = l.busy;
        if (queued && queued.textContent !== String(l.queued)) queued.textContent = l.queued;
        if (meter) {
          meter.max = Math.max(1, l.slots);
          meter.value = l.busy;
          meter.textContent = l.busy + "/" + l.slots;
        }
      });
      (g.tasks || []).forEach(function (t) {
        var eta = document.querySelector('form.task[data-task="' + t.name + '"] .eta');
        if (eta && t.eta_ms !== null) eta.textContent = (t.eta_ms / 1000).toFixed(1);
      });
    });
    es.onerror = function () { if (es.readyState === 2) es.close(); };
  }
})();
