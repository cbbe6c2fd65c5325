// The status page: renders /health and /decisions every 2 seconds. No framework.
"use strict";

const $ = (id) => document.getElementById(id);
const text = (value) => document.createTextNode(value == null ? "" : String(value));
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children) node.append(child instanceof Node ? child : text(child));
  return node;
};
const pct = (v) => (v == null ? "—" : `${v.toFixed(1)} %`);
const ago = (iso) => {
  if (!iso) return "—";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
};

// A bar against 100 %; the scale stretches to show overload.
function bar(value) {
  const node = el("div", { class: "bar", role: "img", "aria-label": pct(value) });
  const scale = Math.max(100, value || 0);
  const fill = el("div", { class: "fill" + (value >= 100 ? " over" : value >= 85 ? " high" : "") });
  fill.style.width = `${Math.min(100, ((value || 0) / scale) * 100)}%`;
  const limit = el("div", { class: "limit" });
  limit.style.left = `${(100 / scale) * 100}%`;
  node.append(fill, limit, el("span", { class: "text" }, pct(value)));
  return node;
}

function fillBar(target, value) {
  target.replaceWith(Object.assign(bar(value), { id: target.id }));
}

// A sparkline of [time, effective %] points, with the 100 % line.
function spark(points, svg) {
  svg = svg || document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 120 24");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.classList.add("spark");
  svg.replaceChildren();
  const values = (points || []).filter((p) => p[1] != null);
  if (values.length < 2) return svg;
  const t0 = values[0][0], t1 = values[values.length - 1][0] || t0 + 1;
  const top = Math.max(120, ...values.map((p) => p[1]));
  const y = (v) => 24 - (v / top) * 24;
  const ns = "http://www.w3.org/2000/svg";
  const limit = document.createElementNS(ns, "line");
  Object.entries({ x1: 0, x2: 120, y1: y(100), y2: y(100) }).forEach(([k, v]) => limit.setAttribute(k, v));
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", values.map((p) => `${(((p[0] - t0) / (t1 - t0 || 1)) * 120).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" "));
  svg.append(limit, line);
  return svg;
}

function peerRow(peer) {
  const link = peer.link;
  const linkCell = el("td", { "data-label": "link" },
    el("span", { class: `state ${link.state}` }, link.state.replace("_", " ")),
    el("div", { class: "muted small" }, `since ${ago(link.since)}${link.rtt_ms != null ? ` · ${link.rtt_ms.toFixed(2)} ms` : ""}${link.tls ? ` · ${link.tls}` : ""}`));
  if (link.last_error && link.state !== "up") linkCell.append(el("div", { class: "error" }, link.last_error));
  const load = peer.load;
  const loadCell = el("td", { "data-label": "load" }, bar(load.load_percent),
    el("div", { class: "muted small" }, load.sampled_at ? `sampled ${ago(load.sampled_at)}${load.stale ? " · stale" : ""}` : "no sample yet"));
  let verdict;
  if (!peer.spare && !peer.backup) verdict = el("span", { class: "muted" }, "not a spare");
  else if (peer.eligible) verdict = el("span", { class: "eligible" }, `eligible · predicted ${pct(load.predicted_percent)}`);
  else verdict = el("span", { class: "excluded" }, peer.excluded_because || "not eligible");
  return el("tr", { "data-peer-id": peer.id },
    el("td", { "data-label": "peer" }, el("div", { class: "id" }, peer.id), el("div", { class: "muted small" }, `${peer.hostname} · ${peer.domain}/${peer.role}${peer.backup ? " · backup" : ""}`)),
    linkCell,
    loadCell,
    el("td", { "data-label": "sessions" }, bar(load.userload_percent)),
    el("td", { "data-label": "recent" }, spark(peer.history)),
    el("td", { "data-label": "balancer" }, verdict),
    el("td", { "data-label": "queue" }, String(peer.delayed)));
}

function render(health) {
  $("host").textContent = health.host;
  const badge = $("status");
  badge.textContent = health.status;
  badge.className = `badge ${health.status}`;
  $("meta").textContent = `version ${health.version} · up ${Math.round(health.uptime_s)} s · mode ${health.balancer.mode} · updated ${new Date(health.generated_at).toLocaleTimeString()}`;
  fillBar($("self-load"), health.self.load_percent);
  fillBar($("self-userload"), health.self.userload_percent);
  spark(health.self.history, $("self-spark"));
  $("target").textContent = health.balancer.target === "self" ? `${health.host} (this server)` : health.balancer.target === "none" ? "nowhere (503)" : health.balancer.target;
  $("reason").textContent = (health.balancer.backup ? "backup in use: " : "") + health.balancer.reason;
  $("counters").textContent = `${health.balancer.redirects_total} logins routed${health.balancer.backup_redirects_total ? ` (${health.balancer.backup_redirects_total} to backups)` : ""} · ${health.balancer.no_target_total} without a target`;
  $("peers").tBodies[0].replaceChildren(...health.peers.map(peerRow));
}

function renderDecisions(doc) {
  $("decisions").replaceChildren(...doc.decisions.slice(0, 12).map((d) =>
    el("li", {}, el("span", { class: "when" }, new Date(d.time).toLocaleTimeString()), ` → ${d.target}${d.backup ? " (backup)" : ""}${d.returning ? " (returning)" : ""}${d.count > 1 ? ` (×${d.count})` : ""}: `, d.reason)));
}

async function refresh() {
  try {
    const [health, decisions] = await Promise.all([
      fetch("/health", { cache: "no-store" }).then((r) => r.json()),
      fetch("/decisions", { cache: "no-store" }).then((r) => r.json()),
    ]);
    render(health);
    renderDecisions(decisions);
  } catch (error) {
    $("status").textContent = "unreachable";
    $("status").className = "badge critical";
    $("meta").textContent = `Cannot read /health: ${error}. Retrying …`;
  }
}

refresh();
setInterval(refresh, 2000);
