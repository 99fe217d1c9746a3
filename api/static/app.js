// The chat page: sends messages, streams answers with their tool cards, lists saved chats,
// replays them, stops a running answer and rejoins it after a reload or a dropped connection.
// Optional endpoints are detected at start-up; a server without them still chats.

import * as api from "./api.js";
import { forgetChat, loadChats, rememberChat, touchChat } from "./chats.js";
import { completeToolCard, createToolCard, el } from "./cards.js";
import { readEventStream } from "./sse.js";

const SESSION_KEY = "lex.sessionId"; // localStorage: the chat to reopen on the next visit
// sessionStorage (this tab only): the answer being streamed, so a reload can pick it up again.
const PENDING_TURN_KEY = "lex.pendingTurn";
const SESSIONS_PAGE_SIZE = 20;
const REPLAY_PACE_MS = 15;
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000];
const BUSY_LABELS = {
  answering: "Lex is answering…",
  replaying: "Replaying…",
  stopping: "Stopping…",
  reconnecting: "Reconnecting…",
};

const $ = (id) => document.getElementById(id);
const ui = {
  transcript: $("transcript"),
  welcome: $("welcome"),
  composer: $("composer"),
  message: $("message"),
  send: $("send"),
  stop: $("stop"),
  busy: $("busy"),
  busyText: $("busy-text"),
  notice: $("notice"),
  modelBanner: $("model-banner"),
  connectionBanner: $("connection-banner"),
  newChat: $("new-chat"),
  replay: $("replay"),
  chatHeading: $("chat-heading"),
  sidebar: $("sidebar"),
  sidebarToggle: $("sidebar-toggle"),
  sidebarClose: $("sidebar-close"),
  sessionList: $("session-list"),
  sessionsEmpty: $("sessions-empty"),
  sessionsUnavailable: $("sessions-unavailable"),
  moreSessions: $("more-sessions"),
};

const state = {
  features: {},
  sessionId: null,
  hasHistory: false, // the open chat has at least one saved turn (so it can be replayed)
  mode: "idle", // idle | answering | replaying
  controller: null, // aborts the stream being read
  abortReason: null, // "stop" (the user stopped it) or "detach" (the user moved elsewhere)
  stopRequested: false,
  nextCursor: null,
};

// ---------------------------------------------------------------------------------------------
// One answer on screen: text, tool cards and errors in the order they streamed.

class AnswerView {
  constructor() {
    this.body = el("div", { class: "message-body" });
    this.typing = el(
      "p",
      { class: "typing" },
      el("span", { class: "dots", "aria-hidden": "true" }, "•••"),
      el("span", { class: "visually-hidden" }, "Lex is typing"),
    );
    this.status = el("p", { class: "message-status", hidden: true });
    // aria-busy: screen readers wait for the finished answer instead of reading every token.
    this.node = el(
      "article",
      { class: "message message-assistant", "aria-busy": "true" },
      el("h3", { class: "visually-hidden" }, "Lex said"),
      this.body,
      this.typing,
      this.status,
    );
    this.clear();
  }

  /** Forgets everything shown, for a rejoin that sends the whole answer again. */
  clear() {
    this.body.replaceChildren();
    this.cards = new Map();
    this.text = null;
    this.messageId = undefined;
    this.events = []; // what was applied, kept compact so the pending turn fits sessionStorage
    this.typing.hidden = false;
    this.status.hidden = true;
  }

  /** Applies one stream event; returns false for event types the page does not know. */
  apply(type, payload) {
    switch (type) {
      case "chunk":
        this.appendText(payload.text ?? "", payload.message_id);
        break;
      case "tool_use":
        this.startTool(payload);
        break;
      case "tool_output":
        this.finishTool(payload);
        break;
      case "error":
        this.showError(payload);
        break;
      case "end":
        this.finish(payload.status);
        break;
      default:
        return false; // unknown events are skipped, as EventSource clients do
    }
    this.record(type, payload);
    return true;
  }

  record(type, payload) {
    const last = this.events.at(-1);
    if (type === "chunk" && last?.[0] === "chunk" && last[1].message_id === payload.message_id) {
      last[1] = { ...last[1], text: last[1].text + payload.text };
      return;
    }
    this.events.push([type, payload]);
  }

  appendText(text, messageId) {
    if (!text) return;
    this.typing.hidden = true;
    // A new model message (text after a tool call) starts a new paragraph.
    if (!this.text || messageId !== this.messageId) {
      this.text = el("p", { class: "message-text" }, document.createTextNode(""));
      this.body.append(this.text);
      this.messageId = messageId;
    }
    this.text.lastChild.appendData(text);
    scrollToEnd();
  }

  startTool(call) {
    const card = createToolCard(call);
    this.cards.set(call.id, card);
    this.body.append(card);
    this.text = null;
    scrollToEnd();
  }

  finishTool(result) {
    let card = this.cards.get(result.id);
    // Saved tool results may come without the id of their call: match the oldest open card.
    card ??= [...this.cards.values()].find(
      (c) => c.dataset.tool === result.name && c.classList.contains("card-running"),
    );
    if (!card) {
      card = createToolCard(result);
      this.body.append(card);
    }
    this.cards.set(result.id, card);
    completeToolCard(card, result, cardActions);
    scrollToEnd();
  }

  showError(error) {
    const retry = error.retryable ? " You can send your message again." : "";
    this.body.append(
      el("p", { class: "message-error" }, `${error.message ?? "Something went wrong."}${retry}`),
    );
    this.text = null;
  }

  /** Marks the answer as over: completed, cancelled, error, or "lost" (no end event came). */
  finish(status) {
    this.typing.hidden = true;
    this.node.removeAttribute("aria-busy");
    for (const card of this.body.querySelectorAll(".card-running")) {
      card.classList.replace("card-running", "card-stopped");
      card.removeAttribute("aria-busy");
      card.querySelector(".card-state").textContent = "Did not finish";
    }
    const notes = {
      cancelled: "Stopped.",
      stopped: "Stopped. The server may still finish this answer; reopen the chat to see it.",
      lost: "The connection was lost before the answer finished.",
    };
    if (notes[status]) this.setStatus(notes[status]);
    else if (status === "completed" && this.body.childElementCount === 0)
      this.setStatus("(No answer.)");
  }

  setStatus(text) {
    this.status.textContent = text;
    this.status.hidden = false;
  }
}

// Slot buttons in availability cards fill in a booking request the customer can edit and send.
const cardActions = {
  onSlot(request) {
    ui.message.value = request;
    ui.message.focus();
    ui.message.setSelectionRange(request.length, request.length);
  },
};

// ---------------------------------------------------------------------------------------------
// Transcript

function scrollToEnd() {
  ui.transcript.scrollTop = ui.transcript.scrollHeight;
}

function appendUserMessage(text) {
  ui.welcome.hidden = true;
  const node = el(
    "article",
    { class: "message message-user" },
    el("h3", { class: "visually-hidden" }, "You said"),
    el("p", { class: "message-text" }, text),
  );
  ui.transcript.append(node);
  scrollToEnd();
  return node;
}

function startAnswer() {
  const view = new AnswerView();
  ui.transcript.append(view.node);
  scrollToEnd();
  return view;
}

function markNotSent(userNode, reason) {
  userNode.classList.add("message-failed");
  userNode.append(el("p", { class: "message-status" }, `Not sent: ${reason}`));
}

function clearTranscript() {
  hideConnectionProblem();
  ui.transcript.replaceChildren(ui.welcome);
  ui.welcome.hidden = false;
  state.hasHistory = false;
}

/** The text of a saved message: `text`, else a `content` string or list of content blocks. */
function textOf(message) {
  if (typeof message.text === "string") return message.text;
  const { content } = message;
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content.map((b) => (typeof b === "string" ? b : (b?.text ?? ""))).join("");
  return "";
}

/** Shows a saved conversation: user messages, then each answer with its tool cards. */
function renderHistory(messages) {
  let view = null;
  messages.forEach((message, index) => {
    if (message.role === "user") {
      view?.finish("completed");
      view = null;
      appendUserMessage(textOf(message));
      state.hasHistory = true;
      return;
    }
    view ??= startAnswer();
    if (message.role === "assistant") {
      view.appendText(textOf(message), `saved-${index}`);
      for (const call of message.tool_calls ?? []) {
        view.startTool({ id: call.id, name: call.name, args: call.args ?? call.arguments ?? {} });
      }
    } else if (message.role === "tool") {
      view.finishTool({
        id: message.tool_call_id ?? message.id,
        name: message.name,
        status: message.status ?? "success",
        // `text` of a tool message is what the model read; the card is `output`.
        output: message.output ?? textOf(message),
        error: message.error,
      });
    }
  });
  view?.finish("completed");
}

// ---------------------------------------------------------------------------------------------
// Status, notices and banners

function setMode(mode) {
  state.mode = mode;
  const busy = mode !== "idle";
  setBusyLabel(busy ? BUSY_LABELS[mode] : null);
  ui.stop.hidden = !busy;
  ui.stop.textContent = mode === "replaying" ? "Stop replay" : "Stop";
  ui.send.disabled = busy;
  ui.replay.hidden = busy || !(state.features.replay && state.hasHistory);
  document.body.classList.toggle("is-busy", busy);
}

function setBusyLabel(label) {
  ui.busy.hidden = !label;
  if (label) ui.busyText.textContent = label;
}

function showNotice(text) {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
}

function hideNotice() {
  ui.notice.hidden = true;
  ui.notice.textContent = "";
}

function showConnectionProblem(text) {
  ui.connectionBanner.textContent = text;
  ui.connectionBanner.hidden = false;
}

function hideConnectionProblem() {
  ui.connectionBanner.hidden = true;
}

/** Words for a failed send, from the error the server (or the network) gave. */
function describeSendError(error) {
  if (error.code === "session_busy" || error.status === 409) {
    const wait = error.retryAfterS
      ? ` Try again in ${error.retryAfterS} s.`
      : " Try again in a moment.";
    return `Lex is still answering the previous message in this chat.${wait}`;
  }
  if (error.status === 0) return "Lex can't be reached. Check that the server is running.";
  if (error.status === 422) return `Lex could not read that message: ${error.message}`;
  return `Something went wrong (${error.message}). Please try again.`;
}

async function showModelBanner() {
  try {
    const health = await api.getHealth();
    const model = health.model ?? {};
    if (health.offline || model.provider === "offline") {
      ui.modelBanner.textContent =
        "Offline model in use: answers come from a scripted stand-in, not a language model. " +
        "Set GROQ_API_KEY on the server to talk to Groq.";
    } else if (model.warning) {
      ui.modelBanner.textContent = model.warning;
    } else {
      return;
    }
    ui.modelBanner.hidden = false;
  } catch {
    // Health is informational; the chat itself reports its own errors.
  }
}

// ---------------------------------------------------------------------------------------------
// Sessions

function setSession(sessionId, title) {
  state.sessionId = sessionId;
  if (sessionId) localStorage.setItem(SESSION_KEY, sessionId);
  else localStorage.removeItem(SESSION_KEY);
  ui.chatHeading.textContent = title || "New chat";
  for (const item of ui.sessionList.querySelectorAll(".session-open")) {
    const current = item.closest("li").dataset.sessionId === sessionId;
    if (current) item.setAttribute("aria-current", "true");
    else item.removeAttribute("aria-current");
  }
}

/** The open chat's id; a new chat is created on the server (with its secret) first. */
async function ensureSession(firstMessage) {
  if (!state.sessionId) {
    let id = null;
    if (state.features.sessions) {
      try {
        const created = await api.createSession();
        rememberChat(created.session_id, created.secret);
        id = created.session_id;
      } catch (error) {
        // A server that does not list its features and has no session routes after all.
        if (error.status !== 404) throw error;
        state.features.sessions = false;
      }
    }
    if (id === null) {
      // A server without the session routes: a chat bound to this browser, as the frontend's.
      id = `web-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    }
    setSession(id, firstMessage.length > 60 ? `${firstMessage.slice(0, 57)}…` : firstMessage);
  }
  touchChat(state.sessionId);
  return state.sessionId;
}

function loadPendingTurn() {
  try {
    return JSON.parse(sessionStorage.getItem(PENDING_TURN_KEY) ?? "null");
  } catch {
    return null;
  }
}

function savePendingTurn(turn, view) {
  const { sessionId, query, lastEventId } = turn;
  const record = { sessionId, query, lastEventId, events: view.events };
  sessionStorage.setItem(PENDING_TURN_KEY, JSON.stringify(record));
}

function clearPendingTurn() {
  sessionStorage.removeItem(PENDING_TURN_KEY);
}

/** Stops following the current stream without stopping the server's turn. */
function detach() {
  if (state.mode === "idle") return;
  state.abortReason = "detach";
  state.controller?.abort();
  clearPendingTurn();
  hideConnectionProblem();
}

function newChat() {
  detach();
  hideNotice();
  clearTranscript();
  setSession(null);
  setMode("idle");
  closeSidebarOnPhone();
  ui.message.focus();
}

/**
 * Opens a saved chat and shows its messages.
 * @param {string} sessionId
 * @param {{pending?: object, quiet?: boolean}} options `pending`: a turn that is still streaming
 *   (its messages are left out, it is shown from the stream); `quiet`: no notice if it is unknown.
 */
async function openSession(sessionId, { pending = null, quiet = false } = {}) {
  detach();
  hideNotice();
  clearTranscript();
  setSession(sessionId, "Saved chat");
  setMode("idle");
  if (!state.features.sessionDetail) return;
  try {
    const detail = await api.getSession(sessionId);
    if (state.sessionId !== sessionId) return; // the user moved on meanwhile
    setSession(sessionId, detail.title);
    let messages = detail.messages ?? [];
    if (pending) {
      const start = messages.findLastIndex((m) => m.role === "user" && textOf(m) === pending.query);
      if (start !== -1) messages = messages.slice(0, start);
    }
    renderHistory(messages);
    setMode("idle");
  } catch (error) {
    if ([401, 403, 404].includes(error.status)) forgetChat(sessionId); // gone, or not ours
    if ([401, 403, 404].includes(error.status) && !pending && quiet) {
      setSession(null); // a chat that never got a message: start fresh
    } else if (!quiet) {
      showNotice(
        error.status === 404
          ? "That chat could not be found."
          : `Could not open that chat: ${error.message}`,
      );
    }
  }
}

function relativeTime(value) {
  const time = typeof value === "number" ? value * (value < 1e12 ? 1000 : 1) : Date.parse(value);
  if (Number.isNaN(time)) return "";
  const seconds = Math.round((time - Date.now()) / 1000);
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const units = [
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return "just now";
}

function sessionItem(session) {
  const title = session.title || "Untitled chat";
  const turns = session.turn_count ?? 0;
  const when = relativeTime(session.updated_at ?? session.created_at);
  const meta = [`${turns} ${turns === 1 ? "message" : "messages"}`, when]
    .filter(Boolean)
    .join(" · ");
  const open = el(
    "button",
    {
      type: "button",
      class: "session-open",
      "aria-current": session.session_id === state.sessionId ? "true" : null,
      onclick: () => {
        closeSidebarOnPhone();
        openSession(session.session_id).then(() => ui.message.focus());
      },
    },
    el("span", { class: "session-title" }, title),
    el("span", { class: "session-meta" }, meta),
  );
  const replay = state.features.replay
    ? el(
        "button",
        {
          type: "button",
          class: "session-replay",
          "aria-label": `Replay ${title}`,
          onclick: () => {
            closeSidebarOnPhone();
            replaySession(session.session_id, title);
          },
        },
        "Replay",
      )
    : null;
  return el("li", { class: "session-item", "data-session-id": session.session_id }, open, replay);
}

/**
 * One page of this browser's chats, newest first, read from the server with each chat's secret.
 * Chats the server no longer opens (deleted) are dropped from the list.
 */
async function listOwnChats(limit, offset) {
  const chats = loadChats();
  const slice = chats.slice(offset, offset + limit);
  const details = await Promise.all(
    slice.map(async ({ id }) => {
      try {
        return await api.getSession(id);
      } catch (error) {
        if ([401, 403, 404].includes(error.status)) forgetChat(id);
        return null;
      }
    }),
  );
  const sessions = details.filter((detail) => detail && detail.turn_count > 0);
  const next = offset + limit < chats.length ? offset + limit : null;
  return { sessions, next_cursor: next };
}

async function refreshSessions({ more = false } = {}) {
  if (!state.features.sessions) {
    ui.sessionsUnavailable.hidden = false;
    return;
  }
  try {
    const page = await listOwnChats(SESSIONS_PAGE_SIZE, more ? state.nextCursor : 0);
    const items = page.sessions.map(sessionItem);
    if (more) ui.sessionList.append(...items);
    else ui.sessionList.replaceChildren(...items);
    state.nextCursor = page.next_cursor;
    ui.moreSessions.hidden = !state.nextCursor;
    ui.sessionsEmpty.hidden = ui.sessionList.childElementCount > 0;
    const current = page.sessions.find((s) => s.session_id === state.sessionId);
    if (current?.title) ui.chatHeading.textContent = current.title;
  } catch (error) {
    if (error.status === 404) state.features.sessions = false;
    ui.sessionsUnavailable.textContent =
      error.status === 404
        ? "Saved chats are not available on this server."
        : "Saved chats could not be loaded.";
    ui.sessionsUnavailable.hidden = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Turns: send, stream, reconnect, stop

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("Aborted", "AbortError"));
    });
  });
}

function parseData(event) {
  try {
    return JSON.parse(event.data);
  } catch {
    return null; // the json stream format sends one JSON object per event; skip anything else
  }
}

function beginStream(mode) {
  hideConnectionProblem();
  state.controller = new AbortController();
  state.abortReason = null;
  state.stopRequested = false;
  setMode(mode);
  return state.controller;
}

/** Back to idle after a stream, unless another stream has started since. */
function endStream(controller) {
  if (state.controller !== controller) return;
  state.controller = null;
  setMode("idle");
}

async function sendMessage(text) {
  if (state.mode !== "idle") return;
  hideNotice();
  const userNode = appendUserMessage(text);
  const controller = beginStream("answering");
  let sessionId;
  let response;
  try {
    sessionId = await ensureSession(text);
    response = await api.postQuery(sessionId, text, controller.signal);
  } catch (error) {
    if (error.name !== "AbortError") {
      const reason = describeSendError(error);
      markNotSent(userNode, reason);
      showNotice(reason);
      // Give the text back so nothing typed is lost.
      if (!ui.message.value) ui.message.value = text;
    }
    endStream(controller);
    return;
  }
  const view = startAnswer();
  const turn = { sessionId, query: text, lastEventId: "", ended: false };
  savePendingTurn(turn, view);
  await followTurn(view, turn, response, controller);
}

/**
 * Reads a turn's events until its `end`, rejoining the stream if the connection drops.
 * @param {AnswerView} view Where the answer is shown.
 * @param {{sessionId, query, lastEventId, ended}} turn Progress, updated as events arrive.
 * @param {Response|null} response An open stream, or null to start by rejoining.
 */
async function followTurn(view, turn, response, controller) {
  const { signal } = controller;
  let failures = 0;
  const onEvent = (event) => {
    const payload = parseData(event);
    if (!payload) return;
    if (event.lastEventId) turn.lastEventId = event.lastEventId;
    if (!view.apply(event.type, payload)) return;
    failures = 0;
    hideConnectionProblem();
    if (state.mode === "answering" && !state.stopRequested) setBusyLabel(BUSY_LABELS.answering);
    if (event.type === "end") turn.ended = true;
    if (turn.ended) clearPendingTurn();
    else savePendingTurn(turn, view);
  };
  try {
    for (;;) {
      if (response === null) response = await rejoin(view, turn, signal);
      if (response === null) return finishLost(view);
      try {
        await readEventStream(response, onEvent);
      } catch (error) {
        if (signal.aborted) throw error;
        // The connection broke: handled below like a stream that closed before `end`.
      }
      response = null;
      if (turn.ended) return;
      failures += 1;
      if (!state.features.rejoin || failures > RECONNECT_DELAYS_MS.length) return finishLost(view);
      const delay = RECONNECT_DELAYS_MS[failures - 1];
      showConnectionProblem(
        `Connection lost. Retrying in ${Math.ceil(delay / 1000)} s ` +
          `(attempt ${failures} of ${RECONNECT_DELAYS_MS.length})…`,
      );
      setBusyLabel(BUSY_LABELS.reconnecting);
      await sleep(delay, signal);
    }
  } catch (error) {
    if (!signal.aborted) {
      finishLost(view);
      showNotice(`Something went wrong while reading the answer: ${error.message}`);
    } else if (state.abortReason === "stop") {
      clearPendingTurn();
      view.finish("stopped");
    }
  } finally {
    if (turn.ended) clearPendingTurn();
    endStream(controller);
    if (turn.ended) {
      state.hasHistory = true;
      setMode(state.mode); // shows Replay now that the chat has a saved turn
      refreshSessions();
    }
  }
}

/**
 * Opens the session's stream again after the last event seen; null when the turn is gone.
 * Network failures are retried with backoff; the caller's signal ends the attempts.
 */
async function rejoin(view, turn, signal) {
  if (!state.features.rejoin) return null;
  for (let attempt = 0; attempt <= RECONNECT_DELAYS_MS.length; attempt++) {
    try {
      const response = await api.rejoinTurn(turn.sessionId, turn.lastEventId, signal);
      // Without a Last-Event-ID the server sends the whole turn again: start the answer over.
      if (!turn.lastEventId) view.clear();
      return response;
    } catch (error) {
      if (signal.aborted) throw error;
      if (error.status !== 0) return null; // 404: the server no longer has this turn
      const delay = RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)];
      showConnectionProblem(`Lex can't be reached. Retrying in ${Math.ceil(delay / 1000)} s…`);
      setBusyLabel(BUSY_LABELS.reconnecting);
      await sleep(delay, signal);
    }
  }
  return null;
}

function finishLost(view) {
  clearPendingTurn();
  view.finish("lost");
  showConnectionProblem("The connection to Lex was lost. Reopen the chat to see what was saved.");
}

/** After a reload mid-answer: shows what had arrived, then rejoins the stream after it. */
async function resumeTurn(pending) {
  appendUserMessage(pending.query);
  const view = startAnswer();
  for (const [type, payload] of pending.events ?? []) view.apply(type, payload);
  const turn = {
    sessionId: pending.sessionId,
    query: pending.query,
    lastEventId: pending.lastEventId,
    ended: false,
  };
  if (!state.features.rejoin) {
    clearPendingTurn();
    finishLost(view);
    return;
  }
  const controller = beginStream("answering");
  setBusyLabel(BUSY_LABELS.reconnecting);
  await followTurn(view, turn, null, controller);
}

async function stop() {
  if (state.mode === "replaying") {
    state.abortReason = "stop";
    state.controller?.abort();
    return;
  }
  if (state.mode !== "answering" || state.stopRequested) return;
  state.stopRequested = true;
  setBusyLabel(BUSY_LABELS.stopping);
  if (state.features.cancel) {
    try {
      await api.cancelTurn(state.sessionId);
      return; // the stream ends with `end {"status": "cancelled"}`
    } catch (error) {
      if (error.status === 409) return; // already finishing; its `end` is on the way
      if (error.status !== 404) {
        state.stopRequested = false;
        setBusyLabel(BUSY_LABELS.answering);
        showNotice(`Could not stop the answer: ${error.message}`);
        return;
      }
    }
  }
  // No cancel endpoint: stop reading. The server may still finish the answer and save it.
  state.abortReason = "stop";
  state.controller?.abort();
}

/** Plays a saved chat back event by event, at a readable pace. */
async function replaySession(sessionId, title) {
  detach();
  hideNotice();
  clearTranscript();
  setSession(sessionId, title || ui.chatHeading.textContent);
  const controller = beginStream("replaying");
  let view = null;
  try {
    const response = await api.replaySession(sessionId, REPLAY_PACE_MS, controller.signal);
    await readEventStream(response, (event) => {
      const payload = parseData(event);
      if (!payload) return;
      if (event.type === "turn") {
        view?.finish("completed");
        appendUserMessage(payload.query ?? "");
        view = startAnswer();
        return;
      }
      view ??= startAnswer();
      view.apply(event.type, payload);
    });
    view?.finish("completed");
    state.hasHistory = true;
  } catch (error) {
    if (controller.signal.aborted) {
      view?.finish("cancelled");
    } else {
      showNotice(
        error.status === 404
          ? "This chat cannot be replayed."
          : `The replay failed: ${error.message}`,
      );
    }
  } finally {
    endStream(controller);
  }
}

// ---------------------------------------------------------------------------------------------
// Layout and keyboard

const phoneWidth = window.matchMedia("(max-width: 800px)");

function setSidebarOpen(open) {
  document.body.classList.toggle("sidebar-open", open);
  ui.sidebarToggle.setAttribute("aria-expanded", String(open));
  // Keyboard users land in the panel they opened, and back on the toggle when it closes.
  if (open) (ui.sidebar.querySelector(".session-open") ?? ui.sidebarClose).focus();
  else if (ui.sidebar.contains(document.activeElement)) ui.sidebarToggle.focus();
}

function closeSidebarOnPhone() {
  if (phoneWidth.matches) setSidebarOpen(false);
}

function wireEvents() {
  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.message.value.trim();
    if (!text || state.mode !== "idle") return;
    ui.message.value = "";
    sendMessage(text);
  });
  ui.message.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter is a new line; an IME composition keeps its Enter.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.composer.requestSubmit();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (state.mode !== "idle") stop();
    else if (document.body.classList.contains("sidebar-open")) setSidebarOpen(false);
  });
  ui.stop.addEventListener("click", stop);
  ui.newChat.addEventListener("click", newChat);
  ui.replay.addEventListener("click", () => state.sessionId && replaySession(state.sessionId));
  ui.moreSessions.addEventListener("click", () => refreshSessions({ more: true }));
  ui.sidebarClose.addEventListener("click", () => setSidebarOpen(false));
  ui.sidebarToggle.addEventListener("click", () =>
    setSidebarOpen(!document.body.classList.contains("sidebar-open")),
  );
}

async function start() {
  wireEvents();
  state.features = await api.detectFeatures();
  // Lets tests and stylesheets see which optional features this server has.
  document.body.dataset.features = Object.keys(state.features)
    .filter((name) => state.features[name])
    .join(" ");
  showModelBanner();
  const pending = loadPendingTurn();
  const sessionId = pending?.sessionId ?? localStorage.getItem(SESSION_KEY);
  if (sessionId) await openSession(sessionId, { pending, quiet: true });
  refreshSessions();
  if (pending?.sessionId) resumeTurn(pending);
}

start().finally(() => {
  document.body.dataset.ready = "true";
});
