/*
 * Sluice: progressive enhancement, no framework. Without JavaScript the job
 * page refreshes itself (meta refresh); with it, the page polls the job
 * JSON and updates in place, announcing changes through aria-live.
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
  again(delay);
})();
