// The HTTP side of the page: one function per endpoint, errors turned into ApiError values, and
// feature detection so the page keeps working on a server that lacks some endpoints.
// URLs are relative, so the page also works behind a proxy that serves Lex under a path prefix.
// Every call about a chat carries that chat's secret (Authorization: Bearer), kept in chats.js.

import { secretOf } from "./chats.js";

/** A non-2xx answer (or no answer at all), in the service's error shape. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached.
   * @param {string} code Machine-readable reason from the body, e.g. "session_busy".
   * @param {string} message Text from the body, safe to show.
   * @param {number|null} retryAfterS Seconds from a Retry-After header, if any.
   */
  constructor(status, code, message, retryAfterS = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;
  }
}

async function errorFrom(response) {
  let code = `http_${response.status}`;
  let message = response.statusText || "The request failed.";
  try {
    const body = await response.json();
    code = body?.error?.code ?? code;
    message = body?.error?.message ?? message;
  } catch {
    // Not JSON (a proxy's error page, say): keep the status line.
  }
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return new ApiError(response.status, code, message, Number.isNaN(retryAfter) ? null : retryAfter);
}

/** fetch that throws ApiError for network failures and non-2xx answers; aborts pass through. */
async function request(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "unreachable", "Lex can't be reached. Is the server running?");
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

async function requestJson(path, options = {}) {
  const response = await request(path, options);
  return response.json();
}

const STREAM_HEADERS = { Accept: "text/event-stream" };
const sessionPath = (sessionId) => `sessions/${encodeURIComponent(sessionId)}`;

/** The Authorization header that opens a chat, when the page holds its secret. */
function authHeaders(sessionId) {
  const secret = secretOf(sessionId);
  return secret ? { Authorization: `Bearer ${secret}` } : {};
}

// Each optional feature of the page and its name in the `features` of Lex's status document.
const FEATURE_NAMES = {
  sessions: "sessions",
  sessionDetail: "session_detail",
  replay: "replay",
  cancel: "cancel",
  rejoin: "rejoin",
};

/**
 * Tells which optional endpoints this server has, from the `features` its status document lists
 * (`GET /` asked for JSON), a request no customer is refused.
 * A server that lists none (or no status document) is assumed to have every feature; calls then
 * handle their own 404s.
 */
export async function detectFeatures() {
  const assumeAll = Object.fromEntries(Object.keys(FEATURE_NAMES).map((name) => [name, true]));
  try {
    const status = await requestJson("./", { headers: { Accept: "application/json" } });
    const listed = status?.features;
    if (!listed || typeof listed !== "object" || Array.isArray(listed)) return assumeAll;
    return Object.fromEntries(
      Object.entries(FEATURE_NAMES).map(([name, key]) => [name, Object.hasOwn(listed, key)]),
    );
  } catch {
    return assumeAll;
  }
}

export function getHealth() {
  return requestJson("health");
}

/** Creates a chat on the server; resolves with `{session_id, secret}`. */
export function createSession() {
  return requestJson("sessions", { method: "POST" });
}

/** Starts a turn; resolves with the streaming Response once the server accepted it. */
export function postQuery(sessionId, query, signal) {
  return request("query", {
    method: "POST",
    headers: { ...STREAM_HEADERS, "Content-Type": "application/json", ...authHeaders(sessionId) },
    body: JSON.stringify({ query, session_id: sessionId, stream_format: "json" }),
    signal,
  });
}

/** Rejoins the session's running (or last) turn, after `lastEventId` when given. */
export function rejoinTurn(sessionId, lastEventId, signal) {
  const headers = { ...STREAM_HEADERS, ...authHeaders(sessionId) };
  if (lastEventId) headers["Last-Event-ID"] = lastEventId;
  return request(`${sessionPath(sessionId)}/stream?stream_format=json`, { headers, signal });
}

export function cancelTurn(sessionId) {
  return requestJson(`${sessionPath(sessionId)}/cancel`, {
    method: "POST",
    headers: authHeaders(sessionId),
  });
}

export function getSession(sessionId) {
  return requestJson(sessionPath(sessionId), { headers: authHeaders(sessionId) });
}

export function replaySession(sessionId, paceMs, signal) {
  const params = new URLSearchParams({ stream_format: "json", pace_ms: String(paceMs) });
  const headers = { ...STREAM_HEADERS, ...authHeaders(sessionId) };
  return request(`${sessionPath(sessionId)}/replay?${params}`, { headers, signal });
}
