// mock-kling dashboard: polls the control API (/__mock__/...) and drives it. No framework, no
// build step; every text from the server goes into the page through textContent.
"use strict";

const API = "/__mock__";
const POLL_MS = 500; // a poll asks only for what changed (journal cursors) and one page of tasks
const TASK_PAGE = 50;
const KEEP_REQUESTS = 1000; // newest request records kept for the journal view
const KEEP_ATTEMPTS = 5000; // newest callback attempts kept for the per-task views
const SHOW_REQUESTS = 200;
const ROUTE = "/videos/multi-image2video";

const state = {
  now: 0, kind: "", total: 0, taskLimit: TASK_PAGE, tasks: [], selected: null,
  requests: [], requestCursor: "", attempts: [], attemptCursor: "", faults: [],
  outcomes: new Map(), replans: new Map(), paused: false, lastPoll: 0,
};
const $ = (id) => document.getElementById(id);

// ---- talking to the control API --------------------------------------------------------------
async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  const data = await response.json();
  if (!response.ok) throw new Error(data.message || `HTTP ${response.status}`);
  return data;
}

const q = encodeURIComponent;

async function poll() {
  const started = performance.now();
  const [clock, health, tasks, requests, attempts, faults] = await Promise.all([
    api("GET", "/clock"),
    api("GET", "/health"),
    api("GET", `/tasks?limit=${state.taskLimit}`),
    api("GET", `/requests?since=${q(state.requestCursor)}&limit=${KEEP_REQUESTS}`),
    api("GET", `/callbacks?since=${q(state.attemptCursor)}&limit=${KEEP_ATTEMPTS}`),
    api("GET", "/faults"),
  ]);
  if (health.tasks < state.total) forgetHistory(); // a reset
  state.now = clock.now_ms; state.kind = clock.kind; state.total = health.tasks;
  state.tasks = tasks; state.faults = faults;
  state.requests = merge(state.requests, requests, KEEP_REQUESTS);
  state.requestCursor = requests.cursor;
  state.attempts = merge(state.attempts, attempts, KEEP_ATTEMPTS);
  state.attemptCursor = attempts.cursor;
  notePlans(tasks);
  const selected = await selectedTask();
  render(selected, health);
  state.lastPoll = performance.now() - started;
}

function merge(held, answer, keep) {
  const all = answer.restart ? answer.items : held.concat(answer.items);
  return all.length > keep ? all.slice(all.length - keep) : all;
}

async function selectedTask() {
  if (!state.selected) return null;
  const shown = state.tasks.find((view) => view.task.task_id === state.selected);
  if (shown) return shown;
  try {
    return await api("GET", `/tasks/${q(state.selected)}`);
  } catch (error) {
    state.selected = null; // gone (a reset)
    return null;
  }
}

function forgetHistory() {
  state.outcomes.clear(); state.replans.clear();
}

function notePlans(views) {
  for (const view of views) {
    const id = view.task.task_id;
    const plan = JSON.stringify(view.outcome);
    const before = state.outcomes.get(id);
    if (before !== undefined && before !== plan) {
      const list = state.replans.get(id) || [];
      list.push({ at_ms: state.now, outcome: view.outcome });
      state.replans.set(id, list);
    }
    state.outcomes.set(id, plan);
  }
}

// ---- the poll loop: one poll at a time, then the next after POLL_MS --------------------------
let timer = null;
let inFlight = false;
let again = false;

async function tick() {
  timer = null;
  if (inFlight) { again = true; return; }
  inFlight = true;
  try {
    await poll();
    setLive(state.paused ? "paused" : `live · poll ${Math.round(state.lastPoll)} ms`, true);
  } catch (error) {
    setLive(`offline: ${error.message}`, false);
  } finally {
    inFlight = false;
    schedule(again ? 0 : POLL_MS);
    again = false;
  }
}

function schedule(delay) {
  if (timer !== null) clearTimeout(timer);
  timer = state.paused && delay > 0 ? null : setTimeout(tick, delay);
}

const refreshNow = () => schedule(0);

function setLive(text, ok) {
  const live = $("live");
  live.textContent = text;
  live.className = `live ${ok ? "on" : "off"}`;
}

// ---- formatting -------------------------------------------------------------------------------
function clockText(ms) {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", " UTC");
}
const timeText = (ms) => new Date(ms).toISOString().slice(11, 23);

function span(ms) {
  const s = Math.max(ms, 0) / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} m`;
}

function planText(outcome) {
  let text = outcome.result || "succeed";
  if (outcome.message) text += `: "${outcome.message}"`;
  const times = [];
  if (outcome.submitted_seconds != null) times.push(`submitted ${outcome.submitted_seconds} s`);
  if (outcome.processing_seconds != null) times.push(`processing ${outcome.processing_seconds} s`);
  return times.length ? `${text} (${times.join(", ")})` : text;
}

function endpointOf(record) {
  const path = record.path.split("?")[0];
  if (path.endsWith(ROUTE)) return record.method === "POST" ? "create" : "list";
  return path.includes(`${ROUTE}/`) ? "query" : "other";
}

const statusClass = (code) => (code === 0 ? "dropped" : `${String(code)[0]}xx`);

const answerOf = (attempt) =>
  attempt.http_status != null ? String(attempt.http_status) : attempt.error || "–";
const failedAttempt = (a) => Boolean(a.error) || (a.http_status != null && a.http_status >= 300);

// ---- DOM helpers ------------------------------------------------------------------------------
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function badge(node, text, kind) {
  setText(node, text);
  const name = `badge st-${kind}`;
  if (node.className !== name) node.className = name;
}

// Keep one row per key and update it in place, so a focused button in a row keeps its focus.
function syncRows(tbody, items, keyOf, create, update) {
  const old = new Map(Array.from(tbody.rows, (row) => [row.dataset.key, row]));
  const rows = items.map((item) => {
    const key = keyOf(item);
    let row = old.get(key);
    if (row) old.delete(key);
    else { row = create(item); row.dataset.key = key; }
    update(row, item);
    return row;
  });
  old.forEach((row) => row.remove());
  rows.forEach((row, i) => { if (tbody.rows[i] !== row) tbody.insertBefore(row, tbody.rows[i] || null); });
}

function cells(row, count, classes = []) {
  for (let i = 0; i < count; i += 1) row.append(el("td", classes[i] || ""));
  return row.cells;
}

// ---- rendering --------------------------------------------------------------------------------
function render(selected, health) {
  setText($("clock-now"), clockText(state.now));
  setText($("clock-kind"), `${state.kind} clock`);
  $("advance").disabled = state.kind !== "manual";
  $("advance").title = state.kind === "manual" ? "" : "the system clock runs by itself";
  if (health.status !== "ok") say(`The fake recorded ${health.errors.length} unexpected error(s): see /__mock__/health`, true);
  renderTasks();
  renderDetail(selected);
  renderRequests();
  renderFaults();
}

function attemptsByTask() {
  const byTask = new Map();
  for (const attempt of state.attempts) {
    const list = byTask.get(attempt.task_id) || [];
    list.push(attempt);
    byTask.set(attempt.task_id, list);
  }
  return byTask;
}

function renderTasks() {
  const byTask = attemptsByTask();
  const shown = state.tasks.length;
  setText($("task-count"), shown < state.total ? `newest ${shown} of ${state.total}` : `${state.total}`);
  $("tasks-empty").hidden = shown > 0;
  $("more-tasks").hidden = shown >= state.total;
  const counts = {};
  for (const view of state.tasks) counts[view.task.task_status] = (counts[view.task.task_status] || 0) + 1;
  const summary = $("status-summary");
  summary.replaceChildren(...Object.entries(counts).map(([status, n]) => {
    const item = el("li");
    badge(item, `${n} ${status}`, status);
    return item;
  }));
  syncRows($("tasks").tBodies[0], state.tasks, (view) => view.task.task_id, createTaskRow,
    (row, view) => updateTaskRow(row, view, byTask.get(view.task.task_id) || []));
}

function createTaskRow(view) {
  const row = el("tr");
  const [, idCell, , statusCell] = cells(row, 7, ["mono nowrap", "", "mono", "", "num nowrap", "", "nowrap"]);
  const button = el("button", "link", view.task.task_id);
  button.type = "button";
  button.setAttribute("aria-label", `Show task ${view.task.task_id}`);
  button.addEventListener("click", () => choose(view.task.task_id));
  idCell.append(button);
  row.addEventListener("click", (event) => { if (event.target === row || event.target.tagName === "TD") choose(view.task.task_id); });
  statusCell.append(el("span", "badge"));
  return row;
}

function updateTaskRow(row, view, attempts) {
  const task = view.task;
  const c = row.cells;
  setText(c[0], view.account);
  setText(c[2], task.task_info.external_task_id || "–");
  badge(c[3].firstChild, task.task_status, task.task_status);
  setText(c[4], span(state.now - task.updated_at));
  setText(c[5], planText(view.outcome));
  const failed = attempts.filter(failedAttempt).length;
  const ok = attempts.length - failed;
  setText(c[6], attempts.length ? `${ok} ok${failed ? ` · ${failed} failed` : ""}` : "–");
  c[6].className = failed ? "bad nowrap" : "nowrap";
  row.classList.toggle("selected", task.task_id === state.selected);
}

function choose(taskId) {
  state.selected = taskId;
  refreshNow();
}

function renderDetail(view) {
  $("detail").hidden = !view;
  $("detail-empty").hidden = Boolean(view);
  setText($("detail-id"), view ? view.task.task_id : "");
  if (!view) return;
  const task = view.task;
  const status = $("detail-status");
  status.replaceChildren();
  const b = el("span");
  badge(b, task.task_status, task.task_status);
  status.append(b, ` for ${span(state.now - task.updated_at)} · account ${view.account} · plan ${planText(view.outcome)}`);
  if (task.task_status_msg) status.append(el("span", "bad", ` · ${task.task_status_msg}`));
  renderTimeline(view);
  const attempts = state.attempts.filter((a) => a.task_id === task.task_id);
  $("attempts-empty").hidden = attempts.length > 0;
  $("attempts").hidden = attempts.length === 0;
  syncRows($("attempts").tBodies[0], attempts,
    (a) => `${a.seq}.${a.attempt}.${a.at_ms}.${a.result}.${a.fault}`, createAttemptRow, updateAttemptRow);
  const running = task.task_status === "submitted" || task.task_status === "processing";
  $("force-outcome").disabled = !running;
  $("next-step").disabled = !running;
}

function renderTimeline(view) {
  const created = view.task.created_at;
  const entries = view.timeline.map((step) => ({ at: step.at_ms, step }));
  for (const replan of state.replans.get(view.task.task_id) || []) entries.push({ at: replan.at_ms, replan });
  entries.sort((a, b) => a.at - b.at || (a.replan ? 1 : 0) - (b.replan ? 1 : 0));
  $("timeline").replaceChildren(...entries.map((entry) => {
    const item = el("li");
    const when = el("span", "when", `${timeText(entry.at)} (+${span(entry.at - created)})`);
    if (entry.replan) {
      item.className = "replan";
      item.append(el("span", "", `re-planned: ${planText(entry.replan.outcome)}`), when);
      return item;
    }
    const reached = entry.at <= state.now;
    item.className = reached ? "reached" : "planned";
    const b = el("span");
    badge(b, entry.step.status, entry.step.status);
    item.append(b, when, el("span", "muted", reached ? "" : " planned"));
    if (entry.step.status_msg) item.append(el("span", "msg", entry.step.status_msg));
    return item;
  }));
}

function createAttemptRow() {
  const row = el("tr");
  cells(row, 7, ["mono", "", "num", "mono url", "", "num nowrap", ""])[6].append(el("span", "badge"));
  return row;
}

function updateAttemptRow(row, a) {
  const c = row.cells;
  setText(c[0], timeText(a.at_ms));
  setText(c[1], a.status);
  setText(c[2], String(a.attempt));
  setText(c[3], a.url);
  c[3].title = a.url;
  setText(c[4], answerOf(a));
  c[4].title = a.error || "";
  c[4].className = failedAttempt(a) ? "bad" : "";
  setText(c[5], `${Math.round(a.latency_ms)} ms`);
  badge(c[6].firstChild, a.fault ? `${a.result} (${a.fault})` : a.result, a.result);
}

function renderRequests() {
  const account = $("filter-account").value;
  const endpoint = $("filter-endpoint").value;
  const status = $("filter-status").value;
  syncAccounts();
  const matching = [];
  for (let i = state.requests.length - 1; i >= 0 && matching.length < SHOW_REQUESTS; i -= 1) {
    const r = state.requests[i];
    if (account && r.account !== account) continue;
    if (endpoint && endpointOf(r) !== endpoint) continue;
    if (status && String(r.http_status)[0] !== status) continue;
    matching.push(r);
  }
  setText($("request-count"), `${state.requests.length} kept`);
  $("requests-empty").hidden = matching.length > 0;
  syncRows($("requests").tBodies[0], matching, (r) => r.request_id, createRequestRow, updateRequestRow);
}

function syncAccounts() {
  const select = $("filter-account");
  const known = new Set(Array.from(select.options, (o) => o.value));
  for (const r of state.requests) {
    if (r.account && !known.has(r.account)) { select.append(new Option(r.account, r.account)); known.add(r.account); }
  }
}

function createRequestRow() {
  const row = el("tr");
  cells(row, 7, ["mono", "", "mono wrap", "mono nowrap", "", "num", "mono"])[4].append(el("span", "badge"));
  return row;
}

function updateRequestRow(row, r) {
  const c = row.cells;
  setText(c[0], timeText(r.at_ms));
  setText(c[1], endpointOf(r));
  setText(c[2], `${r.method} ${r.path}`);
  setText(c[3], r.account || "–");
  badge(c[4].firstChild, r.http_status === 0 ? "dropped" : String(r.http_status), statusClass(r.http_status));
  setText(c[5], r.code == null ? "–" : String(r.code));
  setText(c[6], r.request_id);
}

function renderFaults() {
  $("faults-empty").hidden = state.faults.length > 0;
  $("fault-list").replaceChildren(...state.faults.map((rule) => el("li", "mono", faultText(rule))));
}

function faultText(rule) {
  const parts = [`${rule.endpoint || "any"}:`];
  if (rule.code != null) parts.push(`code ${rule.code}`);
  if (rule.message) parts.push(`"${rule.message}"`);
  if (rule.latency_ms != null) parts.push(`latency ${JSON.stringify(rule.latency_ms)} ms`);
  if (rule.drop) parts.push("drop");
  parts.push(rule.times == null ? "forever" : `${rule.times} time(s)`);
  if (rule.probability != null && rule.probability !== 1) parts.push(`p=${rule.probability}`);
  if (rule.account) parts.push(`account ${rule.account}`);
  return parts.join(" ");
}

// ---- controls ---------------------------------------------------------------------------------
function say(text, isError = false) {
  const notice = $("notice");
  notice.textContent = text;
  notice.className = isError ? "notice error" : "notice";
}

async function act(work, done) {
  try {
    await work();
    say(done);
  } catch (error) {
    say(error.message, true);
  }
  refreshNow();
}

function numberOf(id) {
  const text = $(id).value.trim();
  return text === "" ? null : Number(text);
}

function faultBody() {
  const body = { endpoint: $("fault-endpoint").value, drop: $("fault-drop").checked };
  const fields = { code: numberOf("fault-code"), latency_ms: numberOf("fault-latency"), times: numberOf("fault-times") };
  for (const [name, value] of Object.entries(fields)) if (value !== null) body[name] = value;
  const message = $("fault-message").value.trim();
  const account = $("fault-account").value.trim();
  if (message) body.message = message;
  if (account) body.account = account;
  return body;
}

function wire() {
  $("advance-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const seconds = numberOf("advance-seconds");
    if (seconds === null || !(seconds >= 0)) { say("Advance by a number of seconds, 0 or more", true); return; }
    act(() => api("POST", "/clock/advance", { seconds }), `Clock advanced by ${seconds} s`);
  });
  $("reset").addEventListener("click", () => {
    if (!window.confirm("Forget every task, journal, rule and fault of the fake?")) return;
    state.selected = null;
    act(() => api("POST", "/reset"), "The fake was reset");
  });
  $("pause").addEventListener("click", () => {
    state.paused = !state.paused;
    $("pause").setAttribute("aria-pressed", String(state.paused));
    setText($("pause"), state.paused ? "Resume updates" : "Pause updates");
    refreshNow();
  });
  $("more-tasks").addEventListener("click", () => { state.taskLimit += TASK_PAGE; refreshNow(); });
  $("outcome-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = state.selected;
    const body = { result: $("outcome-result").value };
    const message = $("outcome-message").value.trim();
    if (message && body.result === "fail") body.message = message;
    act(() => api("POST", `/tasks/${q(id)}/outcome`, body), `Task ${id} re-planned: ${planText(body)}`);
  });
  $("next-step").addEventListener("click", () => {
    const id = state.selected;
    act(() => api("POST", `/tasks/${q(id)}/advance`), `Task ${id} took its next step`);
  });
  $("fault-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = faultBody();
    act(() => api("POST", "/faults", body), `Fault rule added: ${faultText(body)}`);
  });
  $("clear-faults").addEventListener("click", () => act(() => api("DELETE", "/faults"), "Fault rules cleared"));
  $("request-filters").addEventListener("change", () => renderRequests());
}

wire();
refreshNow();
