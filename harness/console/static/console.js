// The console's live parts: a page whose <main> has data-poll fetches that JSON every two
// seconds and puts each fragment it returns into the element of the same id (data-live),
// until the API says nothing there changes any more. Also: tabs, and the add-step form's
// two kinds of step. No library, no request outside this endpoint.
"use strict";
const POLL_MS = 2000;

function bindTabs(root) {
  for (const bar of root.querySelectorAll(".tabs")) {
    bar.addEventListener("click", (event) => {
      const tab = event.target.closest("button[data-tab]");
      if (!tab) return;
      for (const b of bar.querySelectorAll("button[data-tab]")) {
        b.classList.toggle("on", b === tab);
        b.setAttribute("aria-selected", b === tab ? "true" : "false");
      }
      const scope = bar.parentElement;
      for (const panel of scope.querySelectorAll(":scope > .tab[data-panel]")) {
        panel.hidden = panel.dataset.panel !== tab.dataset.tab;
      }
      follow(scope);
    });
  }
}

// a log pane shows its failure line, or its end while the step runs
function follow(root) {
  for (const pre of root.querySelectorAll(".tab:not([hidden]) pre.log")) {
    const failure = pre.querySelector(".failure");
    if (failure) pre.scrollTop = failure.offsetTop - pre.offsetTop - pre.clientHeight / 3;
    else pre.scrollTop = pre.scrollHeight;
  }
}

function openTab(root) {
  const on = root.querySelector(".tabs button.on");
  return on ? on.dataset.tab : null;
}

async function poll(main) {
  const url = main.dataset.poll;
  let active = true;
  while (active) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    let data;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) continue;
      data = await response.json();
    } catch (error) {
      continue; // the endpoint restarting: try again
    }
    for (const [id, html] of Object.entries(data.fragments)) {
      const target = document.getElementById(id);
      if (!target || target.dataset.html === html) continue;
      const keep = openTab(target);
      const opened = [...target.querySelectorAll("details[id][open]")].map((d) => d.id);
      target.innerHTML = html;
      for (const id of opened) document.getElementById(id)?.setAttribute("open", "");
      target.dataset.html = html;
      bindTabs(target);
      if (keep) {
        const button = target.querySelector(`.tabs button[data-tab="${keep}"]`);
        if (button) button.click();
      }
      if (target.hasAttribute("data-follow")) follow(target);
    }
    document.body.dataset.state = data.state || "";
    active = data.active;
  }
  main.dataset.settled = "true";
}

function stepKinds() {
  const select = document.getElementById("step-type");
  if (!select) return;
  const show = () => {
    for (const set of document.querySelectorAll("fieldset[data-kind]")) {
      set.hidden = set.dataset.kind !== select.value;
    }
  };
  select.addEventListener("change", show);
  show();
}

document.addEventListener("DOMContentLoaded", () => {
  bindTabs(document);
  follow(document);
  stepKinds();
  const main = document.querySelector("main[data-poll]");
  if (main) poll(main);
});
