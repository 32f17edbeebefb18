#include "http/dashboard.h"

namespace pgvigil {
namespace {

// Strings from the agent are put into the page with textContent only, never innerHTML.
constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pgvigil</title>
<style>
:root{--ok:#2e7d32;--warn:#ef6c00;--bad:#c62828;--info:#1565c0;--mute:#616161;--bg:#fafafa}
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:var(--bg);color:#212121}
header{display:flex;gap:1em;align-items:baseline;padding:.8em 1.2em;background:#263238;color:#eceff1}
header h1{font-size:1.2em;margin:0}header .meta{opacity:.8;font-size:.9em}
main{padding:1em 1.2em;display:grid;gap:1em;grid-template-columns:repeat(auto-fill,minmax(340px,1fr))}
.card{background:#fff;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.15);padding:.8em 1em;border-left:6px solid var(--mute)}
.card h2{margin:0 0 .3em;font-size:1.1em;display:flex;justify-content:space-between}
.state{font-weight:600;text-transform:uppercase;font-size:.8em;padding:.1em .5em;border-radius:3px;color:#fff;background:var(--mute)}
.s-healthy{--c:var(--ok)}.s-degraded{--c:var(--warn)}.s-unhealthy,.s-given_up{--c:var(--bad)}
.s-restarting,.s-starting_up{--c:var(--info)}.s-paused,.s-unknown{--c:var(--mute)}
.card.s-healthy,.card.s-degraded,.card.s-unhealthy,.card.s-given_up,.card.s-restarting,.card.s-starting_up,.card.s-paused{border-left-color:var(--c)}
.state.s-healthy,.state.s-degraded,.state.s-unhealthy,.state.s-given_up,.state.s-restarting,.state.s-starting_up,.state.s-paused{background:var(--c)}
dl{display:grid;grid-template-columns:auto 1fr;gap:.15em .8em;margin:.4em 0}dt{color:var(--mute)}dd{margin:0}
.bar{height:10px;background:#e0e0e0;border-radius:5px;overflow:hidden}.bar>div{height:100%;background:var(--ok)}
.bar.warn>div{background:var(--warn)}.bar.crit>div{background:var(--bad)}
section{padding:0 1.2em 1.2em}table{border-collapse:collapse;width:100%;background:#fff;font-size:.9em}
td,th{padding:.3em .5em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
.stale{color:var(--bad);font-weight:600}#err{color:var(--bad);padding:0 1.2em}
</style></head><body>
<header><h1>pgvigil</h1><span class="meta" id="agent"></span><span class="meta" id="fresh"></span></header>
<div id="err"></div>
<main id="targets"></main>
<section><h2>Recent events</h2><table><thead><tr><th>time</th><th>level</th><th>event</th><th>target</th><th>message</th></tr></thead><tbody id="events"></tbody></table></section>
<script>
"use strict";
const KEY = "pgvigil.token";
function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined && text !== null) e.textContent = String(text); return e; }
function row(dl, k, v) { dl.appendChild(el("dt", "", k)); const d = el("dd"); if (v instanceof Node) d.appendChild(v); else d.textContent = v === null || v === undefined ? "\u2014" : String(v); dl.appendChild(d); }
function ago(ts) { if (!ts) return "never"; const s = Math.round((Date.now() - Date.parse(ts)) / 1000); return s < 120 ? s + " s ago" : Math.round(s / 60) + " min ago"; }
async function get(path) {
  const headers = {}; const t = sessionStorage.getItem(KEY); if (t) headers["Authorization"] = "Bearer " + t;
  const r = await fetch(path, {headers, cache: "no-store"});
  if (r.status === 401) {
    const n = window.prompt("pgvigil needs its bearer token (kept in this tab only):");
    if (n) { sessionStorage.setItem(KEY, n.trim()); return get(path); }
    throw new Error("a token is required");
  }
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}
function card(t) {
  const c = el("div", "card s-" + t.state);
  const h = el("h2"); h.appendChild(el("span", "", t.name)); h.appendChild(el("span", "state s-" + t.state, t.state.replace("_", " "))); c.appendChild(h);
  const dl = el("dl");
  row(dl, "since", ago(t.since));
  row(dl, "cause", t.cause);
  const lr = t.last_round;
  if (lr) {
    row(dl, "round", lr.latency_ms.toFixed(1) + " ms, " + ago(lr.checked_at) + (t.stale ? " (stale)" : ""));
    row(dl, "checks", lr.checks.map(k => k.check + (k.ok ? " \u2713 " : " \u2717 ") + k.latency_ms.toFixed(1) + " ms").join(", "));
    if (lr.message) row(dl, "message", lr.message);
  } else row(dl, "round", "none yet");
  const cn = t.connections;
  if (cn) {
    const bar = el("div", "bar" + (cn.critical ? " crit" : cn.warn ? " warn" : "")); const fill = el("div");
    fill.style.width = Math.min(100, Math.round(cn.ratio * 100)) + "%"; bar.appendChild(fill);
    const box = el("div"); box.appendChild(bar); box.appendChild(el("small", "", cn.used + " / " + cn.usable + " usable (" + Math.round(cn.ratio * 100) + "%)" + (cn.stale ? ", last read " + ago(cn.measured_at) : "")));
    row(dl, "connections", box);
    if (cn.holders && cn.holders.length) {
      const ul = el("ul", "holders");
      cn.holders.forEach(h => ul.appendChild(el("li", "", (h.other ? "other (" + h.groups + " groups)" : (h.application || "(no application_name)") + " (" + (h.user || "?") + (h.client ? "@" + h.client : "") + ")") + ": " + h.sessions + (h.idle ? ", " + h.idle + " idle" + (h.oldest_idle_s != null ? " (oldest " + Math.floor(h.oldest_idle_s / 60) + " min)" : "") : "") + (h.idle_in_transaction ? ", " + h.idle_in_transaction + " idle in tx" : ""))));
      row(dl, "held by", ul);
    }
    if (cn.visibility_warning) row(dl, "visibility", cn.visibility_warning);
  }
  const rs = t.restart;
  row(dl, "restart", rs.method + ", budget " + rs.budget.used + "/" + rs.budget.max);
  if (rs.history.length) { const last = rs.history[0]; row(dl, "last restart", last.result + " " + ago(last.at) + (last.detail ? " (" + last.detail + ")" : "")); }
  if (rs.next_allowed) row(dl, "next allowed", new Date(rs.next_allowed).toLocaleTimeString());
  if (t.paused_until) row(dl, "paused until", new Date(t.paused_until).toLocaleString());
  c.appendChild(dl);
  return c;
}
async function refresh() {
  try {
    const s = await get("/status");
    document.getElementById("agent").textContent = "v" + s.agent.version + ", up " + Math.round(s.agent.uptime_seconds) + " s" + (s.agent.ticking ? "" : " \u2014 SCHEDULER STALLED");
    const f = document.getElementById("fresh"); f.textContent = s.stale ? "data is stale" : "checked " + ago(s.checked_at); f.className = "meta" + (s.stale ? " stale" : "");
    const box = document.getElementById("targets"); box.replaceChildren(...s.targets.map(card));
    const ev = await get("/events?limit=30");
    document.getElementById("events").replaceChildren(...ev.events.map(e => {
      const tr = el("tr"); [new Date(e.ts).toLocaleTimeString(), e.level, e.event, e.target || "", e.msg].forEach(v => tr.appendChild(el("td", "", v))); return tr; }));
    document.getElementById("err").textContent = "";
  } catch (e) { document.getElementById("err").textContent = "update failed: " + e.message; }
}
refresh(); setInterval(refresh, 2000);
</script></body></html>
)HTML";

}  // namespace

std::string_view dashboardHtml() {
  return kPage;
}

}  // namespace pgvigil
