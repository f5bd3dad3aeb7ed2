// finkpi dashboard: an org unit's scorecard, trends, driver tree and open-period forecasts.
// Plain JavaScript and inline SVG drawn here (no library, no CDN): it works offline.
// Every number comes from the finkpi API with the user's key; the page asks only for what
// /api/v1/me says the key may read, so a scoped key never triggers a 403.
"use strict";

const API = "/api/v1";
const SVG_NS = "http://www.w3.org/2000/svg";
const state = { key: null, me: null, catalog: {}, units: {} };

// -- talking to the API ------------------------------------------------------------------------
async function api(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(name, value);
  }
  const url = `${API}${path}${query.toString() ? "?" + query : ""}`;
  const response = await fetch(url, { headers: { "X-API-Key": state.key, Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(`${response.status}: ${body.detail}`);
  return body;
}

function showMessage(text) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.hidden = !text;
}

// -- formatting --------------------------------------------------------------------------------
function fmt(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (unit === "ratio") return (value * 100).toFixed(1) + " %";
  const digits = Math.abs(value) >= 1000 ? 0 : 2;
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
// short axis labels: 3.6M, 250k
function compact(value, unit) {
  if (unit === "ratio") return (value * 100).toFixed(0) + "%";
  const size = Math.abs(value);
  if (size >= 1e6) return (value / 1e6).toFixed(1) + "M";
  if (size >= 1e4) return (value / 1e3).toFixed(0) + "k";
  return value.toFixed(size >= 100 ? 0 : 1);
}
const pct = (value) => (value === null || value === undefined ? "–" : (value * 100).toFixed(0) + " %");
const label = (metric) => (state.catalog[metric] ? state.catalog[metric].label : metric);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function svgText(x, y, text, attrs = {}) {
  const node = svg("text", { x, y, class: "axis", ...attrs });
  node.textContent = text;
  return node;
}

// -- charts (inline SVG) -----------------------------------------------------------------------
// A horizontal bar for attainment: 0..150 % of target, the target marked at 100 %.
function attainmentBar(attainment, score) {
  const width = 180, height = 16, max = 1.5;
  const box = svg("svg", { width, height, class: "attainment-bar", role: "img" });
  const title = svg("title");
  title.textContent = attainment === null ? "no attainment" : `attainment ${pct(attainment)}`;
  box.append(title, svg("rect", { x: 0, y: 3, width, height: 10, fill: "#eef1f4" }));
  if (attainment !== null) {
    const share = Math.max(0, Math.min(attainment, max)) / max;
    const color = score === null ? "#999" : score >= 100 ? "var(--good)" : score >= 50 ? "var(--warn)" : "var(--bad)";
    box.append(svg("rect", { x: 0, y: 3, width: (share * width).toFixed(1), height: 10, fill: color }));
  }
  const target = width / max;
  box.append(svg("line", { x1: target, x2: target, y1: 0, y2: height, stroke: "var(--ink)", "stroke-width": 1.5 }));
  return box;
}

// A line chart of actual against target over periods, with the floor-stretch band.
function trendChart(points, unit) {
  const width = 300, height = 150, left = 40, right = 8, top = 8, bottom = 22;
  const chart = svg("svg", { width, height, class: "trend-chart", viewBox: `0 0 ${width} ${height}` });
  const values = points.flatMap((p) => [p.actual, p.target, p.floor, p.stretch]).filter((v) => v !== null);
  if (!points.length || !values.length) {
    chart.append(svgText(left, height / 2, "no complete period"));
    return chart;
  }
  let low = Math.min(...values), high = Math.max(...values);
  if (low === high) { low -= 1; high += 1; }
  const pad = (high - low) * 0.08;
  low -= pad; high += pad;
  const x = (i) => left + (points.length === 1 ? 0.5 : i / (points.length - 1)) * (width - left - right);
  const y = (v) => top + (1 - (v - low) / (high - low)) * (height - top - bottom);
  const path = (key) => points
    .map((p, i) => [i, p[key]]).filter(([, v]) => v !== null)
    .map(([i, v], n) => `${n ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  // the band between floor and stretch (where the score runs from 0 to its cap)
  const banded = points.map((p, i) => [i, p.floor, p.stretch]).filter(([, f, s]) => f !== null && s !== null);
  if (banded.length) {
    const upper = banded.map(([i, , s]) => `${x(i).toFixed(1)},${y(s).toFixed(1)}`);
    const lower = banded.reverse().map(([i, f]) => `${x(i).toFixed(1)},${y(f).toFixed(1)}`);
    chart.append(svg("polygon", { points: [...upper, ...lower].join(" "), fill: "#e8eef8", class: "band" }));
  }
  chart.append(
    svg("line", { x1: left, x2: left, y1: top, y2: height - bottom, stroke: "var(--line)" }),
    svg("line", { x1: left, x2: width - right, y1: height - bottom, y2: height - bottom, stroke: "var(--line)" }),
    svgText(left - 4, y(high - pad) + 3, compact(high - pad, unit), { "text-anchor": "end" }),
    svgText(left - 4, y(low + pad) + 3, compact(low + pad, unit), { "text-anchor": "end" }),
    svgText(left, height - 6, points[0].period),
    svgText(width - right, height - 6, points[points.length - 1].period, { "text-anchor": "end" }),
    svg("path", { d: path("target"), fill: "none", stroke: "var(--muted)", "stroke-dasharray": "4 3", class: "target-line" }),
    svg("path", { d: path("actual"), fill: "none", stroke: "var(--accent)", "stroke-width": 2, class: "actual-line" }),
  );
  points.forEach((p, i) => {
    if (p.actual === null) return;
    const dot = svg("circle", { cx: x(i), cy: y(p.actual), r: 2.5, fill: "var(--accent)" });
    const title = svg("title");
    title.textContent = `${p.period}: ${fmt(p.actual, unit)} (target ${fmt(p.target, unit)})`;
    dot.append(title);
    chart.append(dot);
  });
  return chart;
}

// A bar for one driver's contribution, centred on zero, scaled to the largest in its group.
function contributionBar(contribution, largest) {
  const width = 160, height = 12, middle = width / 2;
  const box = svg("svg", { width, height, class: "contribution-bar" });
  box.append(svg("line", { x1: middle, x2: middle, y1: 0, y2: height, stroke: "var(--line)" }));
  if (contribution !== null && largest > 0) {
    const size = (Math.abs(contribution) / largest) * middle;
    box.append(svg("rect", {
      x: contribution >= 0 ? middle : middle - size, y: 2, width: size.toFixed(1), height: height - 4,
      fill: contribution >= 0 ? "var(--good)" : "var(--bad)",
    }));
  }
  return box;
}

// -- the sections -------------------------------------------------------------------------------
async function loadPeriods() {
  const summary = await api("/scorecards/summary", { org_unit: orgUnit(), grain: grain() });
  const select = document.getElementById("period");
  select.replaceChildren(...summary.data.slice().reverse().map(
    (row) => el("option", { value: row.period_start }, row.period_label)));
  state.summary = summary.data;
}

const orgUnit = () => document.getElementById("org-unit").value;
const grain = () => document.getElementById("grain").value;
const period = () => document.getElementById("period").value;

function renderSummary() {
  const row = state.summary.find((r) => r.period_start === period());
  const tiles = document.getElementById("summary");
  if (!row) { tiles.replaceChildren(el("p", {}, "No scored period.")); return; }
  const tile = (name, value) => el("div", { class: "tile" }, el("div", { class: "label" }, name),
    el("div", { class: "value" }, value));
  tiles.replaceChildren(
    tile("total score", row.total_score === null ? "–" : row.total_score.toFixed(1)),
    tile("result (financial)", row.result_score === null ? "–" : row.result_score.toFixed(1)),
    tile("process", row.process_score === null ? "–" : row.process_score.toFixed(1)),
    tile("coverage", pct(row.coverage)),
  );
}

async function renderLines() {
  const lines = await api("/scorecards/lines", {
    org_unit: orgUnit(), grain: grain(), period_from: period(), period_to: period(),
  });
  const body = document.querySelector("#lines tbody");
  body.replaceChildren(...lines.data.map((line) => {
    const unit = state.units[line.metric_name];
    const row = el("tr", { class: line.status === "missing" ? "missing" : "scored", "data-metric": line.metric_name },
      el("td", {}, label(line.metric_name)),
      el("td", {}, line.perspective),
      el("td", { class: "num" }, pct(line.weight)),
      el("td", { class: "num" }, fmt(line.actual, unit)),
      el("td", { class: "num" }, fmt(line.target, unit)),
      el("td", {}, attainmentBar(line.attainment, line.score), " ", pct(line.attainment)),
      el("td", { class: "num" }, line.score === null ? "–" : line.score.toFixed(1)),
      el("td", { class: "num" }, line.weighted_score === null ? "–" : line.weighted_score.toFixed(1)),
    );
    return row;
  }));
  return lines.data.map((line) => line.metric_name);
}

async function renderTrends() {
  const history = await api("/scorecards/lines", { org_unit: orgUnit(), grain: grain() });
  const byMetric = new Map();
  for (const line of history.data) {
    if (!byMetric.has(line.metric_name)) byMetric.set(line.metric_name, []);
    byMetric.get(line.metric_name).push({
      period: line.period_label, actual: line.actual, target: line.target, floor: line.floor, stretch: line.stretch,
    });
  }
  const box = document.getElementById("trends");
  box.replaceChildren(...[...byMetric.entries()].map(([metric, points]) => el("div", { class: "trend", "data-metric": metric },
    el("h3", {}, label(metric)), trendChart(points, state.units[metric]))));
}

async function renderDriverTree(roots) {
  const box = document.getElementById("driver-tree");
  const readable = new Set(state.me.metrics_all_rows);
  const attributed = roots.filter((m) => readable.has(m));
  let attribution = [];
  if (attributed.length) {
    const all = await api("/attribution", { metrics: attributed.join(","), grain: grain(), comparison: "previous_period" });
    // the last period with an attribution, up to the period shown
    const starts = all.data.map((r) => r.period_start).filter((s) => s <= period()).sort();
    const last = starts[starts.length - 1];
    attribution = all.data.filter((r) => r.period_start === last);
  }
  const byMetric = new Map();
  for (const row of attribution) {
    if (!byMetric.has(row.metric_name)) byMetric.set(row.metric_name, []);
    byMetric.get(row.metric_name).push(row);
  }
  const node = (metric, depth, seen) => {
    const item = el("li", { class: "tree-node", "data-metric": metric });
    const rows = byMetric.get(metric) || [];
    const head = el("span", { class: "node" }, el("span", { class: "name" }, label(metric)));
    if (rows.length) {
      const r = rows[0];
      head.append(el("span", { class: "change" },
        `${r.period_label}: ${fmt(r.comparison_value, state.units[metric])} → ${fmt(r.metric_value, state.units[metric])}` +
        ` (${r.method})`));
    }
    item.append(head);
    const drivers = (state.catalog[metric] && state.catalog[metric].drivers) || [];
    if (depth < 1 && drivers.length) {  // a metric and its direct drivers: the tree stays readable
      const list = el("ul");
      const contributions = new Map(rows.map((r) => [r.driver_metric, r.contribution]));
      const largest = Math.max(0, ...rows.map((r) => Math.abs(r.contribution || 0)));
      for (const driver of drivers) {
        if (seen.has(driver)) continue;
        const child = node(driver, depth + 1, new Set([...seen, driver]));
        if (contributions.has(driver)) {
          const value = contributions.get(driver);
          child.firstChild.append(contributionBar(value, largest),
            el("span", { class: "contribution" }, (value >= 0 ? "+" : "") + fmt(value, state.units[metric])));
        }
        list.append(child);
      }
      item.append(list);
    }
    return item;
  };
  const tree = el("ul");
  for (const root of roots) tree.append(node(root, 0, new Set([root])));
  box.replaceChildren(el("div", { class: "tree" }, tree));
}

async function renderForecasts() {
  const forecasts = await api("/forecasts", { org_unit: orgUnit(), grain: grain() });
  const body = document.querySelector("#forecasts tbody");
  body.replaceChildren(...forecasts.data.map((f) => {
    const unit = state.units[f.metric_name];
    return el("tr", { class: f.at_risk ? "at-risk" : "on-track", "data-metric": f.metric_name },
      el("td", {}, label(f.metric_name)),
      el("td", {}, f.period_label),
      el("td", { class: "num" }, fmt(f.actual_to_date, unit)),
      el("td", { class: "num" }, fmt(f.projected_value, unit)),
      el("td", { class: "num" }, fmt(f.target, unit)),
      el("td", { class: "num" }, pct(f.projected_attainment)),
      el("td", {}, el("span", { class: f.at_risk ? "badge risk" : "badge ok" }, f.at_risk ? "at risk" : "on track")),
    );
  }));
  if (!forecasts.data.length) body.append(el("tr", {}, el("td", { colspan: 7 }, "No open period.")));
}

async function refresh() {
  showMessage("");
  renderSummary();
  const roots = await renderLines();
  await Promise.all([renderTrends(), renderDriverTree(roots), renderForecasts()]);
  document.body.dataset.ready = "true";
}

async function start(key) {
  state.key = key;
  try {
    state.me = await api("/me");
  } catch (error) {
    sessionStorage.removeItem("finkpi-key");
    document.getElementById("key-form").hidden = false;
    showMessage(`The key was not accepted (${error.message}).`);
    return;
  }
  sessionStorage.setItem("finkpi-key", key);
  document.getElementById("key-form").hidden = true;
  document.getElementById("who").textContent =
    `${state.me.name} (${state.me.role}${state.me.departments.length ? ": " + state.me.departments.join(", ") : ""})`;
  document.getElementById("version").textContent = `published version ${state.me.run_id}`;
  const catalog = await api("/catalog");
  for (const row of catalog.data) {
    state.catalog[row.metric_name] = row;
    state.units[row.metric_name] = row.unit;
  }
  const units = document.getElementById("org-unit");
  units.replaceChildren(...state.me.org_units.map((u) => el("option", { value: u }, u)));
  if (!state.me.org_units.length) { showMessage("This key reads no scorecard."); return; }
  document.getElementById("dashboard").hidden = false;
  await loadPeriods();
  await refresh();
}

function report(error) {
  showMessage(`Could not load the dashboard: ${error.message}`);
}

document.getElementById("org-unit").addEventListener("change", () => loadPeriods().then(refresh).catch(report));
document.getElementById("grain").addEventListener("change", () => loadPeriods().then(refresh).catch(report));
document.getElementById("period").addEventListener("change", () => refresh().catch(report));
document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  start(document.getElementById("key-input").value.trim()).catch(report);
});

// the key: from the link's fragment (then removed from the address bar), else this tab's session
const fromLink = new URLSearchParams(location.hash.slice(1)).get("key");
if (fromLink) history.replaceState(null, "", location.pathname);
const key = fromLink || sessionStorage.getItem("finkpi-key");
if (key) start(key).catch(report);
else document.getElementById("key-form").hidden = false;
