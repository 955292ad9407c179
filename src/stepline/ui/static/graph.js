// Stepline web UI: the step graph, drawn by cytoscape with the dagre layout.
// Plain browser JavaScript without a build step; ui.js uses it through window.SteplineGraph.
(function () {
  "use strict";

  const STATE_CLASSES = ["pending", "queued", "running", "paused", "success", "failure", "aborted", "skipped"];

  // --- the step graph ----------------------------------------------------------------

  const FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif";

  function graphStyle() {
    const states = {
      pending: ["#ffffff", "#6b7280", "dashed"],
      queued: ["#f1f5f9", "#475569", "solid"],
      running: ["#dbeafe", "#1d4ed8", "solid"],
      paused: ["#fef3c7", "#b45309", "solid"],
      success: ["#dcfce7", "#15803d", "solid"],
      failure: ["#fee2e2", "#b91c1c", "solid"],
      aborted: ["#e5e7eb", "#374151", "solid"],
      skipped: ["#f3f4f6", "#6b7280", "dotted"],
    };
    const style = [
      {
        selector: "node",
        style: {
          shape: "round-rectangle", "background-color": "#ffffff", "border-width": 2, "border-color": "#6b7280",
          label: "data(label)", "text-wrap": "wrap", "text-valign": "center", "text-halign": "center",
          "font-size": 12, "font-family": FONT, color: "#111827", width: "data(width)", height: "data(height)",
        },
      },
      {
        selector: "node.start",
        style: { shape: "ellipse", "background-color": "#374151", color: "#ffffff", width: 46, height: 46, padding: "0px", "font-size": 11 },
      },
    ];
    for (const [name, [fill, border, line]] of Object.entries(states)) {
      style.push({ selector: "node." + name, style: { "background-color": fill, "border-color": border, "border-style": line } });
    }
    style.push(
      { selector: "node.breakpoint", style: { "border-width": 5, "border-style": "double", "border-color": "#7c3aed" } },
      { selector: "node:selected", style: { "overlay-color": "#2563eb", "overlay-opacity": 0.15 } },
      {
        selector: "edge",
        style: {
          width: 2, "curve-style": "bezier", "control-point-step-size": 160, "line-color": "#9ca3af", "target-arrow-color": "#9ca3af",
          "target-arrow-shape": "triangle", label: "data(label)", "font-size": 11, "font-family": FONT, color: "#374151",
          "text-background-color": "#ffffff", "text-background-opacity": 1, "text-background-padding": "2px",
          "text-wrap": "wrap", "text-max-width": "110px",
        },
      },
      { selector: "edge.condition", style: { "line-style": "dashed", "line-color": "#7c3aed", "target-arrow-color": "#7c3aed", color: "#5b21b6" } },
    );
    return style;
  }

  // A node's label carries its state as text, so colour is never the only signal. The
  // breakpoint mark goes on the first line, so toggling it does not change the node's height.
  function nodeLabel(node) {
    const lines = [(node.hasClass("breakpoint") ? "◆ " : "") + node.data("stepId"), node.data("stepType")];
    if (node.data("stateText")) lines.push(node.data("stateText"));
    return lines.join("\n");
  }

  // Nodes are sized from their label text, because the layout needs every node's size before
  // anything is drawn. Text is measured on a canvas in the font that the labels use.
  const measure = document.createElement("canvas").getContext("2d");
  measure.font = "12px " + FONT;

  function refreshLabels(cy) {
    cy.nodes('[kind = "step"]').forEach((node) => {
      const label = nodeLabel(node);
      const lines = label.split("\n");
      const widest = Math.max(...lines.map((line) => measure.measureText(line).width));
      node.data({ label: label, width: Math.max(70, Math.ceil(widest) + 24), height: lines.length * 15 + 16 });
    });
  }

  // Cytoscape adds an inline <style> to the page unless an element with this id exists; the
  // Content-Security-Policy blocks inline styles, and ui.css has the rule it would add.
  function claimCytoscapeStylesheet() {
    const id = "__________cytoscape_stylesheet";
    if (!document.getElementById(id)) {
      const marker = document.createElement("meta");
      marker.id = id;
      document.head.appendChild(marker);
    }
  }

  // A labelled edge spans two ranks, so its label has room between the steps it joins.
  const LAYOUT = {
    name: "dagre", rankDir: "TB", nodeSep: 110, rankSep: 45, edgeSep: 20, padding: 16,
    minLen: (edge) => (edge.data("label") ? 2 : 1),
  };

  // Draw the graph; `prepare` sets states and labels first, because nodes are sized by their labels.
  function renderGraph(container, prepare) {
    const data = JSON.parse(document.getElementById(container.dataset.graph).textContent);
    if (typeof window.cytoscape !== "function") {
      container.textContent = "The graph could not be drawn; the table lists the same steps.";
      return null;
    }
    claimCytoscapeStylesheet();
    const cy = window.cytoscape({
      container: container,
      elements: data.elements,
      style: graphStyle(),
      layout: { name: "preset" },
      minZoom: 0.25,
      maxZoom: 2,
      boxSelectionEnabled: false,
      autoungrabify: true,
    });
    refreshLabels(cy);
    if (prepare) prepare(cy);
    cy.layout(LAYOUT).run();
    const fit = () => {
      cy.resize();
      cy.fit(undefined, 16);
      if (cy.zoom() > 1.25) {
        cy.zoom(1.25);
        cy.center();
      }
    };
    fit();
    if (window.ResizeObserver) new ResizeObserver(fit).observe(container);
    // Cytoscape caches where its container is on the page, and content above it can move it
    // (an error summary appears, a region is refreshed): recompute before each press.
    for (const type of ["mousedown", "touchstart"]) {
      container.addEventListener(type, () => cy.resize(), { capture: true, passive: true });
    }
    // Tests and the browser console reach the graph here.
    container.steplineGraph = cy;
    window.steplineGraph = cy;
    return cy;
  }

  // Breakpoint checkboxes (data-breakpoint) inside `scope` and graph nodes mirror each other.
  // Returns a function that toggles a step's box; linking the same element again reuses it.
  function linkBreakpoints(cy, scope) {
    if (scope.steplineToggle) return scope.steplineToggle;
    const boxes = () => Array.from(scope.querySelectorAll("input[data-breakpoint]"));
    const sync = () => {
      const chosen = new Set(boxes().filter((box) => box.checked).map((box) => box.value));
      cy.nodes('[kind = "step"]').forEach((node) => node.toggleClass("breakpoint", chosen.has(node.data("stepId"))));
      refreshLabels(cy);
    };
    scope.addEventListener("change", (event) => {
      if (event.target.matches("input[data-breakpoint]")) sync();
    });
    sync();
    scope.steplineToggle = (stepId) => {
      const box = boxes().find((candidate) => candidate.value === stepId);
      if (box) {
        box.checked = !box.checked;
        sync();
      }
    };
    return scope.steplineToggle;
  }

  function applyState(cy, state) {
    if (!cy) return;
    const breakpoints = new Set(state.breakpoints || []);
    cy.nodes('[kind = "step"]').forEach((node) => {
      const step = state.steps[node.data("stepId")];
      node.removeClass(STATE_CLASSES.join(" "));
      node.addClass(step ? step.css : "pending");
      node.data("state", step ? step.css : "pending");
      node.data("stateText", step ? step.icon + " " + step.text : "· not run");
      node.data("seq", step ? step.seq : null);
      node.toggleClass("breakpoint", breakpoints.has(node.data("stepId")));
    });
    refreshLabels(cy);
  }

  window.SteplineGraph = { renderGraph: renderGraph, applyState: applyState, linkBreakpoints: linkBreakpoints };
})();
