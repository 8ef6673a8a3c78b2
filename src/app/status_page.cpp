#include "status_page.hpp"

namespace mailroom::detail {
namespace {

// Everything inline: the page must work on a host without internet access (no CDN, no web
// fonts), and it only ever talks to the endpoint that served it.
constexpr std::string_view page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mailroom status</title>
<style>
:root { --bg:#f6f7f9; --fg:#1d2330; --mute:#6a7385; --line:#dde1e8; --card:#fff;
        --ok:#1f8a4c; --warn:#b7791f; --bad:#c53030; --accent:#2b6cb0; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
       font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display:flex; flex-wrap:wrap; gap:24px; align-items:baseline; padding:16px 24px;
         background:var(--fg); color:#fff; }
header h1 { margin:0; font-size:20px; }
header .kv { color:#c9d1e0; } header .kv b { color:#fff; font-weight:600; }
main { padding:16px 24px; display:grid; gap:16px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 16px; }
section h2 { margin:0 0 8px; font-size:15px; }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { color:var(--mute); font-weight:500; font-size:12px; }
td.n, th.n { text-align:right; }
.state { padding:1px 8px; border-radius:10px; font-size:12px; background:#e2e8f0; }
.state.open { background:#c6f6d5; color:var(--ok); }
.state.down, .state.held, .state.closed { background:#fed7d7; color:var(--bad); }
.state.connecting, .state.retry_wait, .state.handshaking, .state.draining { background:#feebc8; color:var(--warn); }
.err { color:var(--bad); } .mute { color:var(--mute); }
svg.chart { width:100%; height:120px; display:block; }
svg.spark { width:120px; height:24px; display:block; }
#stale { display:none; color:var(--bad); } #stale.on { display:inline; }
</style>
</head>
<body>
<header>
  <h1 id="server">mailroom</h1>
  <span class="kv">type <b id="type">-</b></span>
  <span class="kv">up <b id="uptime">-</b></span>
  <span class="kv">connections <b id="connections">-</b></span>
  <span class="kv">serving <b id="inflight">-</b></span>
  <span class="kv">served <b id="served-rate">-</b>/s</span>
  <span id="stale">no answer from the server</span>
</header>
<main>
  <section>
    <h2>Calls per second (served, made)</h2>
    <svg class="chart" id="chart" viewBox="0 0 600 120" preserveAspectRatio="none"></svg>
  </section>
  <section>
    <h2>Cluster, as this server sees it</h2>
    <table><thead><tr><th>server</th><th>type</th><th>state</th><th class="n">calls/s</th>
      <th class="n">p50 ms</th><th class="n">p99 ms</th><th class="n">errors</th>
      <th class="n">queue</th><th class="n">bytes queued</th><th class="n">reconnects</th></tr></thead>
      <tbody id="peers"></tbody></table>
  </section>
  <section>
    <h2>Remotes served here</h2>
    <table><thead><tr><th>method</th><th class="n">calls/s</th><th></th><th class="n">p50 ms</th>
      <th class="n">p99 ms</th><th class="n">errors</th><th class="n">in flight</th><th class="n">calls</th></tr></thead>
      <tbody id="served"></tbody></table>
  </section>
  <section>
    <h2>Calls made from here</h2>
    <table><thead><tr><th>method</th><th class="n">calls/s</th><th></th><th class="n">p50 ms</th>
      <th class="n">p99 ms</th><th class="n">errors</th><th class="n">in flight</th><th class="n">calls</th></tr></thead>
      <tbody id="made"></tbody></table>
  </section>
  <section>
    <h2>Recent errors (newest first)</h2>
    <table><thead><tr><th>time</th><th>end</th><th>code</th><th>peer</th><th>method</th></tr></thead>
      <tbody id="errors"></tbody></table>
  </section>
  <section>
    <h2>Recent slow calls served (newest first) <span class="mute" id="slow-limit"></span></h2>
    <table><thead><tr><th>time</th><th class="n">ms</th><th>code</th><th>from</th><th>method</th>
      <th>trace id</th><th>span id</th></tr></thead>
      <tbody id="slow"></tbody></table>
  </section>
</main>
<script>
"use strict";
const HISTORY = 60;
let prev = null;
const history = { served: [], made: [] };
const sparks = new Map();

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function fmt(x, digits) { return Number.isFinite(x) ? x.toFixed(digits) : "-"; }
function uptime(ms) {
  const s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}
function methodKey(m) { return `${m.side}|${m.ns}|${m.server_type}|${m.service}|${m.method}`; }
function methodName(m) {
  return (m.ns && m.ns !== "user" ? m.ns + "." : "") + `${m.server_type}.${m.service}.${m.method}`;
}
// Calls per second since the previous snapshot (server clock); before there is one, the
// average since the App started.
function rate(now, before, seconds, uptimeS) {
  if (before !== undefined && seconds > 0) return Math.max(0, now - before) / seconds;
  return uptimeS > 0 ? now / uptimeS : 0;
}
function line(points, w, h, max) {
  if (!points.length) return "";
  if (points.length === 1) points = [points[0], points[0]]; // one sample: a flat line
  const step = w / (HISTORY - 1), off = HISTORY - points.length;
  return points.map((v, i) => `${((off + i) * step).toFixed(1)},${(h - 2 - (v / max) * (h - 6)).toFixed(1)}`).join(" ");
}
function drawChart() {
  const svg = document.getElementById("chart");
  const max = Math.max(1, ...history.served, ...history.made);
  svg.innerHTML = "";
  for (let i = 1; i < 4; ++i)
    svg.appendChild(el("line", {x1: 0, x2: 600, y1: i * 30, y2: i * 30, stroke: "#dde1e8", "stroke-width": 1}));
  const label = el("text", {x: 4, y: 12, fill: "#6a7385", "font-size": 11}, `${fmt(max, 1)}/s`);
  svg.appendChild(label);
  for (const [name, color] of [["served", "#2b6cb0"], ["made", "#1f8a4c"]]) {
    const pts = line(history[name], 600, 120, max);
    if (pts) svg.appendChild(el("polyline", {points: pts, fill: "none", stroke: color, "stroke-width": 2}));
  }
}
function spark(key, value) {
  let h = sparks.get(key);
  if (!h) { h = []; sparks.set(key, h); }
  h.push(value); if (h.length > HISTORY) h.shift();
  const svg = el("svg", {class: "spark", viewBox: "0 0 120 24", preserveAspectRatio: "none"});
  const pts = line(h, 120, 24, Math.max(1, ...h));
  if (pts) svg.appendChild(el("polyline", {points: pts, fill: "none", stroke: "#2b6cb0", "stroke-width": 1.5}));
  return svg;
}
function methodRows(tbody, methods, side, before, seconds, uptimeS) {
  tbody.innerHTML = "";
  let total = 0;
  const rows = methods.filter(m => m.side === side).sort((a, b) => methodName(a).localeCompare(methodName(b)));
  for (const m of rows) {
    const key = methodKey(m);
    const r = rate(m.calls, before.get(key), seconds, uptimeS);
    total += r;
    const tr = el("tr", {"data-method": methodName(m)});
    tr.appendChild(el("td", {class: "method"}, methodName(m)));
    tr.appendChild(el("td", {class: "n rate", "data-rate": r.toFixed(3)}, fmt(r, 1)));
    const sp = el("td"); sp.appendChild(spark(key, r)); tr.appendChild(sp);
    tr.appendChild(el("td", {class: "n"}, fmt(m.p50_ms, 2)));
    tr.appendChild(el("td", {class: "n"}, fmt(m.p99_ms, 2)));
    const codes = Object.entries(m.errors_by_code).map(([c, n]) => `${c} ${n}`).join(", ");
    tr.appendChild(el("td", {class: "n" + (m.errors ? " err" : ""), title: codes}, m.errors ? `${m.errors} (${codes})` : "0"));
    tr.appendChild(el("td", {class: "n"}, m.in_flight));
    tr.appendChild(el("td", {class: "n"}, m.calls));
    tbody.appendChild(tr);
  }
  if (!rows.length) tbody.appendChild(el("tr", {}, "")).appendChild(el("td", {class: "mute", colspan: 8}, "none yet"));
  return total;
}
function render(s) {
  document.getElementById("server").textContent = s.server_id;
  document.title = `${s.server_id} - mailroom`;
  document.getElementById("type").textContent = s.server_type;
  document.getElementById("uptime").textContent = uptime(s.uptime_ms);
  document.getElementById("connections").textContent = s.connections;
  document.getElementById("inflight").textContent = s.in_flight;
  const seconds = prev ? (s.time_ms - prev.time_ms) / 1000 : 0;
  const uptimeS = s.uptime_ms / 1000;
  const beforeMethods = new Map(), beforePeers = new Map();
  if (prev) {
    for (const m of prev.methods) beforeMethods.set(methodKey(m), m.calls);
    for (const p of prev.peers) beforePeers.set(p.server_id, p);
  }
  const served = methodRows(document.getElementById("served"), s.methods, "server", beforeMethods, seconds, uptimeS);
  const made = methodRows(document.getElementById("made"), s.methods, "client", beforeMethods, seconds, uptimeS);
  document.getElementById("served-rate").textContent = fmt(served, 1);
  for (const [k, v] of [["served", served], ["made", made]]) {
    history[k].push(v); if (history[k].length > HISTORY) history[k].shift();
  }
  drawChart();

  const peers = document.getElementById("peers");
  peers.innerHTML = "";
  for (const p of s.peers) {
    const b = beforePeers.get(p.server_id);
    const r = rate(p.calls, b && b.calls, seconds, uptimeS);
    const er = b && p.calls > b.calls ? (p.errors - b.errors) / (p.calls - b.calls)
                                      : (p.calls ? p.errors / p.calls : 0);
    const tr = el("tr", {"data-server": p.server_id});
    tr.appendChild(el("td", {class: "server"}, p.server_id));
    tr.appendChild(el("td", {}, p.server_type));
    const st = el("td"); st.appendChild(el("span", {class: "state " + p.state}, p.state)); tr.appendChild(st);
    tr.appendChild(el("td", {class: "n rate", "data-rate": r.toFixed(3)}, fmt(r, 1)));
    tr.appendChild(el("td", {class: "n"}, p.calls ? fmt(p.p50_ms, 2) : "-"));
    tr.appendChild(el("td", {class: "n"}, p.calls ? fmt(p.p99_ms, 2) : "-"));
    tr.appendChild(el("td", {class: "n" + (er > 0 ? " err" : "")}, `${fmt(er * 100, 1)}%`));
    tr.appendChild(el("td", {class: "n"}, p.queue_depth));
    tr.appendChild(el("td", {class: "n"}, p.queued_bytes));
    tr.appendChild(el("td", {class: "n"}, p.reconnects));
    peers.appendChild(tr);
  }

  const errors = document.getElementById("errors");
  errors.innerHTML = "";
  for (const e of s.recent_errors.slice(-20).reverse()) {
    const tr = el("tr");
    tr.appendChild(el("td", {}, new Date(e.time_ms).toISOString().slice(11, 23)));
    tr.appendChild(el("td", {}, e.side));
    tr.appendChild(el("td", {class: "err code"}, e.code));
    tr.appendChild(el("td", {class: "peer"}, e.peer || "-"));
    tr.appendChild(el("td", {}, `${e.server_type}.${e.service}.${e.method}`));
    errors.appendChild(tr);
  }
  if (!s.recent_errors.length) errors.appendChild(el("tr")).appendChild(el("td", {class: "mute", colspan: 5}, "none"));

  document.getElementById("slow-limit").textContent =
    s.slow_call_ms ? `(${s.slow_call_ms} ms or more)` : "(not watched)";
  const slow = document.getElementById("slow");
  slow.innerHTML = "";
  for (const c of (s.recent_slow_calls || []).slice(-20).reverse()) {
    const tr = el("tr");
    tr.appendChild(el("td", {}, new Date(c.time_ms).toISOString().slice(11, 23)));
    tr.appendChild(el("td", {class: "n"}, fmt(c.ms, 1)));
    tr.appendChild(el("td", {class: c.code === "ok" ? "code" : "err code"}, c.code));
    tr.appendChild(el("td", {class: "peer"}, c.peer || "-"));
    tr.appendChild(el("td", {}, `${c.server_type}.${c.service}.${c.method}`));
    tr.appendChild(el("td", {class: "trace"}, c.trace_id));
    tr.appendChild(el("td", {class: "span"}, c.span_id));
    slow.appendChild(tr);
  }
  if (!(s.recent_slow_calls || []).length) slow.appendChild(el("tr")).appendChild(el("td", {class: "mute", colspan: 7}, "none"));
  prev = s;
}
async function tick() {
  try {
    const r = await fetch("status.json", {cache: "no-store"});
    if (!r.ok) throw new Error(r.status);
    render(await r.json());
    document.getElementById("stale").classList.remove("on");
  } catch (e) {
    document.getElementById("stale").classList.add("on");
  }
  setTimeout(tick, 1000);
}
tick();
</script>
</body>
</html>
)html";

} // namespace

std::string_view status_page_html() noexcept { return page; }

} // namespace mailroom::detail
