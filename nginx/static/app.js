/*
 * Sluice: progressive enhancement, no framework. Without JavaScript the job
 * page refreshes itself (meta refresh); with it, the page polls the job
 * JSON and updates in place, announcing changes through aria-live.
 */
(function () {
  "use strict";

  function text(id, value) {
    var el = document.getElementById(id);
    if (el && el.textContent !== String(value)) el.textContent = value;
  }

  /* Forms: one submission per click; the nonce already makes repeats harmless. */
  document.querySelectorAll("form.task").forEach(function (form) {
    form.addEventListener("submit", function () {
      var b = form.querySelector("button[type=submit]");
      if (b) { b.disabled = true; b.textContent = "Submitting…"; }
    });
  });

  var job = document.getElementById("job");
  if (!job) return;
  var state = job.getAttribute("data-state");
  if (state !== "queued" && state !== "running") return;

  /* JavaScript takes over from the meta refresh. */
  var meta = document.querySelector('meta[http-equiv="refresh"]');
  if (meta) meta.parentNode.removeChild(meta);

  var url = job.getAttribute("data-json");
  var delay = 500;

  function update(j) {
    if (j.state !== state) {
      /* A new phase has its own markup (result table, image): reload it. */
      if (j.state !== "queued" && j.state !== "running") {
        window.location.reload();
        return false;
      }
      if (state === "queued" && j.state === "running") {
        window.location.reload();
        return false;
      }
    }
    if (j.state === "queued") {
      text("job-position", j.position > 0 ? j.position + " job(s) ahead of you." : "Next in line.");
      if (j.eta_ms !== null && j.eta_ms >= 0) text("job-eta", (j.eta_ms / 1000).toFixed(1));
    } else if (j.state === "running" && j.started_ms) {
      text("job-elapsed", ((Date.now() - j.started_ms) / 1000).toFixed(1));
      if (j.device) text("job-device", j.device);
    }
    return true;
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (j) {
        if (update(j)) { delay = Math.min(delay * 1.2, 2000); setTimeout(poll, delay); }
      })
      .catch(function () { delay = Math.min(delay * 2, 5000); setTimeout(poll, delay); });
  }
  setTimeout(poll, delay);
})();
