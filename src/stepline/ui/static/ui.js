// Stepline web UI: live updates of the execution page, and the start form.
// Plain browser JavaScript without a build step. htmx does the other page updates, and
// graph.js draws the step graph on the pages that have one.
(function () {
  "use strict";

  // The log view keeps at most this many lines; the download link has the whole log.
  const MAX_LOG_LINES = 5000;

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // --- the execution page ------------------------------------------------------------

  // graph.js is loaded only on pages with a step graph, before this file.
  const graph = window.SteplineGraph;

  function applyState(cy, state) {
    if (cy && graph) graph.applyState(cy, state);
  }

  function logLine(entry) {
    const where = entry.stepExecutionId !== undefined ? "step " + entry.stepExecutionId : "execution";
    return entry.time.replace("T", " ").slice(0, 23) + " " + entry.level.padEnd(5) + " [" + where + "] " + entry.msg + "\n";
  }

  function setupExecutionPage(page, cy) {
    const log = document.getElementById("log");
    const follow = document.getElementById("log-follow");
    const logStatus = document.getElementById("log-status");
    const stateScript = document.getElementById("graph-state");
    // The newest state the page has received: status, step states, breakpoints, and the
    // execution's revision, which every change raises. It comes from the events stream and
    // from refreshed regions. A state with a lower revision never replaces it.
    let state = stateScript ? JSON.parse(stateScript.textContent) : null;
    let events = null;
    let logSource = null;
    let lastLogId = 0;
    let toggleBreakpoint = null;
    // A region rendered from an older read than `state` is requested again after RECHECK_MS,
    // at most MAX_RECHECKS times in a row.
    const RECHECK_MS = 300;
    const MAX_RECHECKS = 10;
    let rechecks = 0;

    applyState(cy, state);

    function revisionOf(element) {
      return element ? Number(element.dataset.revision) : Infinity;
    }

    // The summary (with the steps table and the step panel) is stale when it was read before
    // `state`. The controls are stale only when the status differs too, so that edits in their
    // forms survive changes that leave the status alone.
    function staleRegions() {
      const stale = [];
      if (!state) return stale;
      if (revisionOf(document.getElementById("live-summary")) < state.revision) stale.push("execution-changed");
      const controls = document.getElementById("controls");
      if (revisionOf(controls) < state.revision && controls.dataset.status !== state.status) {
        stale.push("status-changed");
      }
      return stale;
    }

    function onState(next) {
      if (state && next.revision <= state.revision) return;
      state = next;
      rechecks = 0;
      applyState(cy, state);
      for (const name of staleRegions()) window.htmx.trigger(document.body, name);
    }

    function openStateStream(restart) {
      if (events && restart) events.close();
      else if (events && events.readyState !== EventSource.CLOSED) return;
      events = new EventSource(page.dataset.eventsUrl);
      events.addEventListener("state", (event) => onState(JSON.parse(event.data)));
      events.addEventListener("end", () => events.close());
    }

    function appendLog(entry) {
      const line = document.createElement("span");
      line.className = "log-line level-" + entry.level;
      line.textContent = logLine(entry);
      log.appendChild(line);
      while (log.childElementCount > MAX_LOG_LINES) log.removeChild(log.firstElementChild);
      if (follow.checked) log.scrollTop = log.scrollHeight;
    }

    function openLogStream(restart) {
      if (logSource && restart) logSource.close();
      else if (logSource && logSource.readyState !== EventSource.CLOSED) return;
      logStatus.textContent = "Following the log…";
      logSource = new EventSource(page.dataset.logUrl);
      logSource.addEventListener("log", (event) => {
        // A reconnected stream starts again from the first entry; skip what is shown already.
        const id = Number(event.lastEventId || 0);
        if (id && id <= lastLogId) return;
        lastLogId = id || lastLogId;
        appendLog(JSON.parse(event.data));
      });
      logSource.addEventListener("end", () => {
        logSource.close();
        logStatus.textContent = "The execution has ended; the log is complete.";
      });
    }

    follow.addEventListener("change", () => {
      if (follow.checked) log.scrollTop = log.scrollHeight;
    });

    // An action (resume, retry, ...) can make an ended execution run again: listen again.
    // A stream that is still open may have read the status from before the action and be
    // about to end, so both streams start anew.
    document.body.addEventListener("execution-action", () => {
      openStateStream(true);
      openLogStream(true);
      window.htmx.trigger(document.body, "execution-changed");
      window.htmx.trigger(document.body, "status-changed");
    });

    // The breakpoint editor is part of the controls region, which is replaced on refresh.
    function linkEditor() {
      if (cy && document.getElementById("settings-form")) {
        toggleBreakpoint = graph.linkBreakpoints(cy, document.getElementById("controls"));
      }
    }

    // htmx makes a swapped-in region listen for its triggers only once it settles. An event
    // sent before that is lost, so this handler runs after the settle.
    document.body.addEventListener("htmx:afterSettle", (event) => {
      const target = event.detail.target;
      const script = document.getElementById("graph-state");
      if (target && target.id === "live-summary" && script) onState(JSON.parse(script.textContent));
      const stale = staleRegions();
      if (stale.length && rechecks < MAX_RECHECKS) {
        rechecks += 1;
        window.setTimeout(() => {
          for (const name of staleRegions()) window.htmx.trigger(document.body, name);
        }, RECHECK_MS);
      }
      linkEditor();
    });

    if (cy) {
      linkEditor();
      cy.on("tap", 'node[kind = "step"]', (event) => {
        const node = event.target;
        const editor = document.querySelector("#controls details[open] #settings-form");
        if (editor && toggleBreakpoint) {
          toggleBreakpoint(node.data("stepId"));
          return;
        }
        const seq = node.data("seq");
        const panel = document.getElementById("step-panel");
        if (seq === null || seq === undefined) {
          panel.innerHTML = "";
          const note = document.createElement("p");
          note.className = "empty";
          note.textContent = "Step " + node.data("stepId") + " has not run in this execution.";
          panel.appendChild(note);
          return;
        }
        window.htmx.ajax("GET", page.dataset.base + "/steps/" + seq, { target: "#step-panel", swap: "innerHTML" });
      });
    }

    openStateStream();
    openLogStream();
  }

  // --- the start form ----------------------------------------------------------------

  function fieldFor(form, pointer) {
    // The nearest control group whose pointer is the error's pointer or a prefix of it.
    let best = null;
    form.querySelectorAll("[data-pointer]").forEach((element) => {
      const own = element.dataset.pointer;
      if (pointer === own || pointer.startsWith(own + "/")) {
        if (!best || own.length > best.dataset.pointer.length) best = element;
      }
    });
    return best;
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach((element) => { element.hidden = true; element.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((element) => element.removeAttribute("aria-invalid"));
    const summary = form.querySelector("#start-errors");
    summary.hidden = true;
    summary.textContent = "";
  }

  function showErrors(form, errors) {
    const summary = form.querySelector("#start-errors");
    const heading = document.createElement("p");
    heading.textContent = errors.length === 1 ? "The execution was not started:" : "The execution was not started (" + errors.length + " problems):";
    const list = document.createElement("ul");
    for (const error of errors) {
      const item = document.createElement("li");
      item.textContent = (error.pointer ? error.pointer + ": " : "") + error.message;
      list.appendChild(item);
      const group = error.pointer ? fieldFor(form, error.pointer) : null;
      const message = group ? group.querySelector(".field-error") : null;
      if (message) {
        message.textContent = "✗ " + error.message;
        message.hidden = false;
        const control = group.querySelector("input, select, textarea");
        if (control) control.setAttribute("aria-invalid", "true");
      }
    }
    summary.replaceChildren(heading, list);
    summary.hidden = false;
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }

  async function submitStart(form) {
    clearErrors(form);
    const request = {
      contextType: form.querySelector("#context-type").value,
      context: form.querySelector("#context").value,
      assignments: {},
      pauseAtFailure: form.querySelector("#pause-at-failure").checked,
      debugStepIds: Array.from(form.querySelectorAll("input[data-breakpoint]:checked")).map((box) => box.value),
    };
    const body = new FormData();
    const files = [];
    form.querySelectorAll("[data-field]").forEach((control) => {
      const name = control.dataset.field;
      if (control.type === "file") {
        // A file input's value is the name of the file, which is sent as a `files` part.
        if (control.files.length) {
          request.assignments[name] = control.files[0].name;
          files.push(control.files[0]);
        }
      } else {
        request.assignments[name] = control.value;
      }
    });
    body.append("startForm", new Blob([JSON.stringify(request)], { type: "application/json" }), "startForm.json");
    for (const file of files) body.append("files", file, file.name);

    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" },
      });
      if (response.status === 401) {
        window.location.assign("/ui/signin?next=" + encodeURIComponent(window.location.pathname));
        return;
      }
      let result = null;
      try {
        result = await response.json();
      } catch (error) {
        result = { errors: [{ pointer: "", message: "the server returned status " + response.status + " without details" }] };
      }
      if (response.ok && result.location) {
        window.location.assign(result.location);
        return;
      }
      showErrors(form, result.errors || []);
    } catch (error) {
      showErrors(form, [{ pointer: "", message: "the request failed: " + error.message }]);
    } finally {
      button.disabled = false;
    }
  }

  // --- start -------------------------------------------------------------------------

  function main() {
    const container = document.querySelector("[data-graph]");
    const mode = container ? container.dataset.mode : "";
    const stateScript = document.getElementById("graph-state");
    const prepare = stateScript ? (graph) => applyState(graph, JSON.parse(stateScript.textContent)) : null;
    const cy = container && graph ? graph.renderGraph(container, prepare) : null;

    const startForm = document.querySelector("form[data-start-form]");
    if (startForm) {
      startForm.addEventListener("submit", (event) => {
        event.preventDefault();
        submitStart(startForm);
      });
      if (cy && mode === "breakpoints") {
        const toggle = graph.linkBreakpoints(cy, startForm);
        cy.on("tap", 'node[kind = "step"]', (event) => toggle(event.target.data("stepId")));
      }
    }

    const page = document.getElementById("execution-page");
    if (page) setupExecutionPage(page, cy);

    if (cy && mode === "design") {
      cy.on("tap", 'node[kind = "step"]', (event) => {
        const row = document.getElementById("step-" + event.target.data("stepId"));
        if (row) row.scrollIntoView({ block: "center" });
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
  else main();
})();
