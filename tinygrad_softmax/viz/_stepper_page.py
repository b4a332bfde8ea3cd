"""The style and the script of the `stepper` page, written out in full: the page loads nothing.

The script only shows what Python put in the page (each step's section, the picture's
boxes and edges, marked with ``data-key``): it computes no number, so what a step says is
what the engine's pass gave.
"""

PAGE_STYLE = """
:root { --red: #d62728; --ink: #222; --muted: #666; --line: #ddd; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink);
       background: #fff; }
header { position: sticky; top: 0; z-index: 1; background: #fafafa; border-bottom: 1px solid var(--line);
         padding: 8px 14px; }
h1 { font-size: 16px; margin: 0 0 6px; }
h2 { font-size: 15px; margin: 0 0 6px; }
h3 { font-size: 13px; margin: 12px 0 4px; color: #444; }
.controls { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.controls button { font: inherit; padding: 4px 12px; border: 1px solid #999; border-radius: 4px; background: #fff;
                   cursor: pointer; }
.controls button:disabled { color: #aaa; border-color: #ddd; cursor: default; }
.controls button:focus-visible, #slider:focus-visible { outline: 2px solid var(--red); outline-offset: 2px; }
#slider { width: min(320px, 40vw); }
#counter { font-variant-numeric: tabular-nums; font-weight: 600; min-width: 4.5em; }
.hint { color: var(--muted); font-size: 12px; }
main { display: grid; grid-template-columns: minmax(0, 1.25fr) minmax(300px, 1fr); gap: 0; }
.graph, .panel { max-height: calc(100vh - 76px); overflow: auto; padding: 10px 14px; }
.graph { border-right: 1px solid var(--line); }
.graph svg { display: block; margin: 0 auto; }
.graph.fit svg { max-width: 100%; height: auto; }
.controls #fit[aria-pressed="true"] { background: #eee; }
.no-picture { border: 1px dashed #c99; background: #fff6f6; padding: 8px 12px; border-radius: 4px; }
pre { margin: 0; font: 12px/1.35 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; white-space: pre; }
code { font: 12px ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; background: #f3f3f3; padding: 0 3px;
       border-radius: 3px; }
table { border-collapse: collapse; margin: 2px 0 4px; }
th, td { text-align: left; vertical-align: top; padding: 3px 8px 3px 0; border-bottom: 1px solid #eee; }
th { font-weight: 600; white-space: nowrap; }
pre.grad { background: #fff4d6; border-left: 3px solid #e6a800; padding: 4px 8px; display: inline-block; }
.result { margin-top: 12px; padding: 8px 10px; border: 1px solid #b9d9b4; background: #f2fbf0; border-radius: 4px; }
.compare { display: flex; gap: 18px; flex-wrap: wrap; }
.compare p { margin: 0 0 3px; }
.chain, .difference { font-size: 13px; }
.order { margin: 0; padding-left: 22px; color: var(--muted); font-size: 13px; }
.order li.visited { color: var(--ink); }
.order li.current { color: var(--red); font-weight: 600; }
.order li:not(.visited) .g { display: none; }
tr.none td { color: var(--muted); }
.order .g { font: 11px ui-monospace, Menlo, Consolas, monospace; color: #555; }
g.node.current > polygon, g.node.current > path, g.node.current > ellipse { stroke: var(--red); stroke-width: 4px; }
g.node.pending { opacity: 0.45; }
g.tensor:not(.visited) text.grad { visibility: hidden; }
g.tensor.visited text.grad { font-weight: 600; }
g.edge.active > path { stroke: var(--red); stroke-width: 3px; }
g.edge.active > polygon { fill: var(--red); stroke: var(--red); }
g.edge.active > text { fill: var(--red); font-weight: 700; }
@media (max-width: 760px) { main { grid-template-columns: 1fr; } .graph, .panel { max-height: none; } }
"""

PAGE_SCRIPT = """
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("stepper-data").textContent);
  const steps = data.steps;
  const count = steps.length;
  const sections = Array.from(document.querySelectorAll("section.step"));
  const result = document.querySelector(".result");
  const slider = document.getElementById("slider");
  const counter = document.getElementById("counter");
  const prev = document.getElementById("prev");
  const next = document.getElementById("next");
  const graph = document.getElementById("graph");
  const order = Array.from(document.querySelectorAll("#order li"));
  const boxes = new Map();
  graph.querySelectorAll("g.node").forEach((g) => boxes.set(g.dataset.key, g));
  const edges = Array.from(graph.querySelectorAll("g.edge"));
  const stepOf = new Map(steps.map((step, index) => [step.node, index]));
  let current = 0;

  // Scroll only the picture's own box: scrollIntoView could also scroll a notebook around its frame.
  function reveal(element) {
    const box = element.getBoundingClientRect();
    const view = graph.getBoundingClientRect();
    if (box.top < view.top || box.bottom > view.bottom) {
      graph.scrollTop += box.top - view.top - (view.height - box.height) / 2;
    }
    if (box.left < view.left || box.right > view.right) {
      graph.scrollLeft += box.left - view.left - (view.width - box.width) / 2;
    }
  }

  function show(index) {
    current = Math.max(0, Math.min(count - 1, index));
    sections.forEach((section, i) => { section.hidden = i !== current; });
    if (result) { result.hidden = current !== count - 1; }
    boxes.forEach((g, key) => {
      const at = stepOf.get(key);
      g.classList.toggle("current", at === current);
      g.classList.toggle("visited", at !== undefined && at <= current);
      g.classList.toggle("pending", at !== undefined && at > current);
    });
    const active = new Set(steps[current].edges);
    edges.forEach((e) => e.classList.toggle("active", active.has(e.dataset.key)));
    order.forEach((li, i) => {
      li.classList.toggle("current", i === current);
      li.classList.toggle("visited", i <= current);
    });
    counter.textContent = (current + 1) + " / " + count;
    slider.value = String(current + 1);
    prev.disabled = current === 0;
    next.disabled = current === count - 1;
    document.body.dataset.step = String(current + 1);
    const box = boxes.get(steps[current].node);
    if (box) { reveal(box); }
  }

  const fit = document.getElementById("fit");
  const picture = graph.querySelector("svg");
  // Offered only when the picture is wider than its pane (the expanded graph of a classifier is).
  const fitNeeded = () => { fit.hidden = !picture || picture.width.baseVal.value <= graph.clientWidth; };
  fitNeeded();
  window.addEventListener("resize", fitNeeded);
  fit.addEventListener("click", () => {
    const on = graph.classList.toggle("fit");
    fit.setAttribute("aria-pressed", String(on));
    const box = boxes.get(steps[current].node);
    if (box) { reveal(box); }
  });
  prev.addEventListener("click", () => show(current - 1));
  next.addEventListener("click", () => show(current + 1));
  slider.addEventListener("input", () => show(Number(slider.value) - 1));
  document.addEventListener("keydown", (event) => {
    // The slider moves itself with the arrow keys (and says so by its input event).
    if (event.target === slider || event.altKey || event.ctrlKey || event.metaKey) { return; }
    const moves = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: count - 1 };
    if (!(event.key in moves)) { return; }
    event.preventDefault();
    show(moves[event.key]);
  });
  show(0);
})();
"""
