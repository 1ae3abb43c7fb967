// The playground: search the served corpus with each model, mark what answers the question.
// Talks to this server only (GET /v1/playground, POST /v1/search, POST /v1/feedback,
// GET /v1/marks/next, GET and POST /v1/versions).
"use strict";

const state = { info: null, key: sessionStorage.getItem("edgembed-key") || "" };
const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.key) headers.Authorization = "Bearer " + state.key;
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) {
    $("key-box").open = true;
    $("api-key").focus();
  }
  if (!response.ok) {
    const message = (data.error && data.error.message) || response.statusText;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return data;
}

function setStatus(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", Boolean(isError));
}

async function loadInfo() {
  try {
    state.info = await api("GET", "/v1/playground");
  } catch (error) {
    setStatus(error.message, true);
    return;
  }
  const info = state.info;
  const feedback = info.feedback ? "marks are stored" : "marks are off (no --feedback-db)";
  if (!info.passages) {
    setStatus(`Serving ${info.models.join(", ")}. No corpus: start the server with --corpus.`, true);
  } else if (!info.indexed) {
    setStatus(`Embedding ${info.passages} passages…`);
    setTimeout(loadInfo, 1000);
  } else {
    setStatus(`${info.passages} passages · ${info.models.join(" vs ")} · ${feedback}`);
    if (info.marks) loadToMark();
  }
  loadVersions();
}

// The logged questions a mark helps most (GET /v1/marks/next), least sure first.
async function loadToMark() {
  let data;
  try {
    data = await api("GET", "/v1/marks/next?limit=10");
  } catch (error) {
    return;
  }
  const box = $("to-mark");
  box.hidden = false;
  $("to-mark-count").textContent = `(${data.data.length} of ${data.candidates} unmarked, ` +
    `${data.marked} marked)`;
  const items = data.data.map((row) => {
    const item = element("li", "to-mark");
    const ask = element("button", "ask", row.query);
    ask.type = "button";
    ask.addEventListener("click", () => {
      $("query").value = row.query;
      $("search-form").requestSubmit();
    });
    const why = row.disagree ? "the models disagree" : `margin ${row.margin.toFixed(3)}`;
    item.append(ask, element("span", "why", ` ${why} · asked ${row.asked}×`));
    return item;
  });
  $("to-mark-list").replaceChildren(...items);
}

// The loaded versions of the served model; a button makes another one the default.
async function loadVersions() {
  let data;
  try {
    data = await api("GET", "/v1/versions");
  } catch (error) {
    return;  // a reranker alone, or a remote browser on a keyless server
  }
  $("versions").hidden = false;
  $("versions-default").textContent = `(${data.model} serves v${data.default})`;
  const items = data.data.map((card) => {
    const item = element("li", "version", card.id + (card.improved_from ?
      ` · improved from ${card.improved_from}` : ""));
    item.dataset.version = card.version;
    if (card.default) {
      item.append(element("span", "badge", "default"));
    } else {
      const use = element("button", "make-default", card.ready ? "Make default" : "warming up");
      use.type = "button";
      use.disabled = !card.ready;
      use.addEventListener("click", () => switchVersion(card.version));
      item.append(use);
    }
    return item;
  });
  $("versions-list").replaceChildren(...items);
}

async function switchVersion(version) {
  try {
    await api("POST", "/v1/versions/default", { version });
    $("versions-status").textContent = `v${version} is the default now.`;
  } catch (error) {
    $("versions-status").textContent = error.message;
  }
  loadVersions();
  loadInfo();
}

async function search(event) {
  event.preventDefault();
  const query = $("query").value.trim();
  if (!query) return;
  $("search").disabled = true;
  const started = performance.now();
  try {
    const data = await api("POST", "/v1/search", { query, top_k: Number($("top-k").value) });
    const elapsed = performance.now() - started;
    $("timing").textContent = `Answered in ${elapsed.toFixed(0)} ms (` +
      data.results.map((r) => `${r.model}: ${r.took_ms.toFixed(1)} ms`).join(", ") + ")";
    render(data);
  } catch (error) {
    $("timing").textContent = "";
    $("results").replaceChildren(note(error.message));
  } finally {
    $("search").disabled = false;
  }
}

function render(data) {
  const columns = data.results.map((result) => {
    const column = element("section", "column");
    column.dataset.model = result.model;
    const heading = element("h2", "", result.model);
    if (result.role === "served") heading.append(element("span", "badge", "served"));
    column.append(heading);
    if (result.stages && result.stages.length) {
      const stages = result.stages.map((s) => `${s.name} ${s.took_ms.toFixed(1)} ms` +
        (s.detail ? ` (${s.detail})` : ""));
      column.append(element("p", "stages", stages.join(" → ")));
    }
    const list = element("ol", "hits");
    const other = data.results.find((r) => r !== result);
    result.hits.forEach((hit) => list.append(card(data.query, result.model, hit, other)));
    column.append(list);
    return column;
  });
  const results = $("results");
  results.replaceChildren(...columns);
  results.classList.toggle("two", columns.length > 1);
}

function card(query, model, hit, other) {
  const item = element("li", "hit");
  item.dataset.chunkId = hit.chunk_id;
  const top = element("div", "hit-top");
  top.append(element("span", "rank", "#" + hit.rank));
  if (other) top.append(elsewhere(hit, other));
  const bar = element("span", "bar");
  const fill = element("span", "fill");
  fill.style.width = Math.max(0, Math.min(1, hit.score)) * 100 + "%";
  bar.append(fill);
  top.append(bar, element("span", "score", hit.score.toFixed(3)));
  const where = [hit.title, hit.section].filter(Boolean).join(" › ") || hit.doc;
  // A chunk's text starts with its breadcrumb line, which the heading above already shows.
  const crumb = [hit.title, hit.section].filter(Boolean).join(" > ") + "\n";
  const body = hit.text.startsWith(crumb) ? hit.text.slice(crumb.length) : hit.text;
  const text = element("p", "text", body);
  text.addEventListener("click", () => text.classList.toggle("open"));
  item.append(top, element("p", "where", where), text, element("p", "doc", hit.doc));
  if (state.info && state.info.feedback) item.append(marks(query, model, hit));
  return item;
}

// Where the other model ranked this passage: what changes if the RAG switches models.
function elsewhere(hit, other) {
  const twin = other.hits.find((h) => h.chunk_id === hit.chunk_id);
  return twin
    ? element("span", "elsewhere", `${other.model}: #${twin.rank}`)
    : element("span", "elsewhere only", `not in ${other.model}'s top ${other.hits.length}`);
}

function marks(query, model, hit) {
  const row = element("div", "marks");
  const yes = element("button", "mark-yes", "Answers");
  const no = element("button", "mark-no", "Does not");
  const saved = element("span", "saved");
  saved.setAttribute("role", "status");
  const send = async (relevant, button) => {
    yes.disabled = no.disabled = true;
    try {
      const receipt = await api("POST", "/v1/feedback", {
        query, chunk_id: hit.chunk_id, relevant, model,
      });
      button.classList.add("chosen");
      saved.textContent = `Saved #${receipt.id}`;
      saved.dataset.feedbackId = receipt.id;
      if (state.info && state.info.marks) loadToMark();
    } catch (error) {
      saved.textContent = error.message;
      saved.classList.add("error");
      yes.disabled = no.disabled = false;
    }
  };
  yes.addEventListener("click", () => send(true, yes));
  no.addEventListener("click", () => send(false, no));
  row.append(yes, no, saved);
  return row;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function note(text) {
  return element("p", "error", text);
}

function useKey(event) {
  event.preventDefault();
  state.key = $("api-key").value.trim();
  sessionStorage.setItem("edgembed-key", state.key);
  $("key-box").open = false;
  loadInfo();
}

document.addEventListener("DOMContentLoaded", () => {
  $("search-form").addEventListener("submit", search);
  $("key-form").addEventListener("submit", useKey);
  $("to-mark-refresh").addEventListener("click", loadToMark);
  loadInfo();
});
