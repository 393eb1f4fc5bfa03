// The risk board's script: SLA countdowns, filters, live queue updates, feedback buttons, the
// similar-escalation groups panel (fetched after the page loads).
// No inline script (the Content-Security-Policy forbids it); text goes in with textContent,
// markup only from this origin's server-rendered, autoescaped pages.
"use strict";

const POLL_MS = 5000;

function span(seconds) {
  const s = Math.floor(Math.abs(seconds));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  return `${m}m`;
}

function tickClocks() {
  const now = Date.now() / 1000;
  for (const cell of document.querySelectorAll(".sla[data-due]")) {
    const due = Number(cell.dataset.due);
    if (!cell.dataset.due || !Number.isFinite(due)) continue;
    if (cell.dataset.answered === "1") { cell.textContent = "answered"; continue; }
    const left = due - now;
    cell.textContent = left >= 0 ? `due in ${span(left)}` : `breached ${span(left)} ago`;
    cell.classList.toggle("breached", left < 0);
    cell.classList.toggle("soon", left >= 0 && left < 3600);
  }
}

function setupFilters() {
  const form = document.getElementById("filters");
  if (!form) return;
  for (const select of form.querySelectorAll("select")) {
    select.addEventListener("change", () => form.submit());
  }
}

async function refreshQueue() {
  const live = document.getElementById("live");
  try {
    const r = await fetch("/board/api/version", { credentials: "same-origin", cache: "no-store" });
    if (r.status === 401) { window.location.assign("/board/login"); return; }
    if (!r.ok) { live.textContent = "offline"; return; }
    const { version } = await r.json();
    if (String(version) === live.dataset.version) { live.textContent = "live"; return; }
    const page = await fetch(window.location.href, { credentials: "same-origin", cache: "no-store" });
    if (!page.ok) return;
    const doc = new DOMParser().parseFromString(await page.text(), "text/html");
    for (const id of ["queue-rows", "matching", "total-open", "pager", "alerts-today"]) {
      const fresh = doc.getElementById(id), old = document.getElementById(id);
      if (fresh && old) old.replaceWith(document.importNode(fresh, true));
    }
    const freshLive = doc.getElementById("live");
    live.dataset.version = freshLive ? freshLive.dataset.version : String(version);
    live.textContent = "live · updated " + new Date().toLocaleTimeString();
    tickClocks();
  } catch (err) {
    live.textContent = "offline";
  }
}

function setupFeedback() {
  const box = document.querySelector(".feedback-form");
  if (!box) return;
  const status = document.getElementById("feedback-status");
  const send = async (escalated) => {
    const note = document.getElementById("feedback-note").value.trim();
    const body = { ticket_id: box.dataset.ticket, escalated };
    if (escalated) body.escalated_at = new Date().toISOString();
    if (note) body.note = note;
    status.textContent = "sending…";
    try {
      // The JSON API itself; the board's session cookie is sent for this path only, and the
      // X-Board header tells the service this board script sent it (CSRF guard).
      const r = await fetch("/v1/feedback", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-Board": "1" },
        body: JSON.stringify(body),
      });
      const answer = await r.json();
      status.textContent = r.ok
        ? `Recorded: ${escalated ? "escalated" : "false alarm"}.`
        : `Not recorded: ${answer.message || r.status}`;
      status.className = r.ok ? "ok" : "error";
    } catch (err) {
      status.textContent = "Not recorded: the service did not answer.";
      status.className = "error";
    }
  };
  document.getElementById("fb-escalated").addEventListener("click", () => send(true));
  document.getElementById("fb-false-alarm").addEventListener("click", () => send(false));
}

const GROUP_TICKETS_SHOWN = 8;
const MESSAGE_CHARS = 240;

function node(tag, text, className) {
  const el = document.createElement(tag);
  if (text !== undefined) el.textContent = text;  // ticket text is hostile: never markup
  if (className) el.className = className;
  return el;
}

function groupItem(group) {
  const li = node("li");
  li.dataset.group = group.id;
  li.append(node("b", group.label, "group-label"));
  const facts = [`${group.size} tickets`, group.product_area || "no product area"];
  if (group.arr_at_stake) facts.push(`$${Math.round(group.arr_at_stake).toLocaleString("en-US")} at stake`);
  li.append(node("span", ` · ${facts.join(" · ")}`, "muted"), node("br"));
  li.append(node("span", `keywords: ${group.keywords.join(", ")}`, "muted small group-keywords"));
  li.append(node("br"));
  const message = group.central_message.length > MESSAGE_CHARS
    ? group.central_message.slice(0, MESSAGE_CHARS - 1) + "…"
    : group.central_message;
  li.append(node("span", `“${message}”`, "small group-message"), node("br"));
  const tickets = node("span", undefined, "small group-tickets");
  for (const link of group.links.slice(0, GROUP_TICKETS_SHOWN)) {
    const a = node("a", link.ticket_id, "ticket-link");
    // The server builds the link; anything but a ticket view of this board is not followed.
    a.href = link.href.startsWith("/board/ticket?id=") ? link.href : "/board";
    tickets.append(a, " ");
  }
  const more = group.links.length - GROUP_TICKETS_SHOWN;
  if (more > 0) tickets.append(node("span", `and ${more} more`, "muted"));
  li.append(tickets);
  return li;
}

function showGroupsState(state, text) {
  const line = document.getElementById("groups-state");
  line.dataset.state = state;
  line.textContent = text;
  line.className = state === "error" ? "error small" : "muted small";
}

async function loadGroups() {
  const panel = document.getElementById("groups");
  if (!panel) return;
  try {
    const r = await fetch(panel.dataset.src, { credentials: "same-origin", cache: "no-store" });
    const answer = await r.json().catch(() => ({}));
    if (!r.ok) {
      showGroupsState("error", `Could not load the groups: ${answer.message || `HTTP ${r.status}`}`);
      return;
    }
    if (!answer.available) {  // no text model or no store yet: a state, not a failure
      showGroupsState("unavailable", `Not available: ${answer.reason}`);
      return;
    }
    const days = Number(answer.lookback_days);
    if (!answer.groups.length) {
      showGroupsState("none", `No similar groups in the last ${days} days`);
      return;
    }
    const list = document.getElementById("groups-list");
    list.replaceChildren(...answer.groups.map(groupItem));
    list.hidden = false;
    const n = answer.groups.length;
    showGroupsState("ok", `${n} group${n === 1 ? "" : "s"} in the last ${days} days, as of ${answer.as_of.slice(0, 16).replace("T", " ")} UTC`);
  } catch (err) {
    showGroupsState("error", "Could not load the groups: the service did not answer.");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  tickClocks();
  setInterval(tickClocks, 1000);
  setupFilters();
  setupFeedback();
  if (document.getElementById("live")) setInterval(refreshQueue, POLL_MS);
  loadGroups();
});
