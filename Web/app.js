// The status page refreshes itself: every 2 s it fetches the same page again
// (the server renders it, see StatusPage.swift; the search and page number stay
// in the URL, so a refresh is one page of peers, never all 10,000) and swaps in
// the new #page. It renders nothing of its own, so the page reads the same with
// scripts off.
"use strict";

const REFRESH_MS = 2000;

async function refresh() {
  try {
    const response = await fetch(location.pathname + location.search, { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const page = fresh.getElementById("page");
    // Not while the operator types a search: the form would lose its focus.
    if (page && !document.activeElement?.closest("form")) document.getElementById("page").replaceWith(page);
    document.title = fresh.title;
  } catch (error) {
    const badge = document.querySelector("header .badge");
    if (badge) {
      badge.textContent = "unreachable";
      badge.className = "badge critical";
      badge.title = `Cannot read /status: ${error}. Retrying every ${REFRESH_MS / 1000} s.`;
    }
  }
}

setInterval(refresh, REFRESH_MS);
