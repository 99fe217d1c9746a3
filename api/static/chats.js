// The chats this browser started, and the secret of each: the server shows a chat only to the
// holder of its secret, so this list (in localStorage) is the page's own "saved chats".

const CHATS_KEY = "lex.chats";

/** @returns {{id: string, secret: string}[]} newest first */
export function loadChats() {
  try {
    const chats = JSON.parse(localStorage.getItem(CHATS_KEY) ?? "[]");
    return Array.isArray(chats) ? chats.filter((c) => c && typeof c.id === "string") : [];
  } catch {
    return [];
  }
}

function saveChats(chats) {
  localStorage.setItem(CHATS_KEY, JSON.stringify(chats));
}

/** Keeps a chat and its secret, first in the list. */
export function rememberChat(id, secret) {
  saveChats([{ id, secret }, ...loadChats().filter((c) => c.id !== id)]);
}

/** Moves a chat to the top of the list (it was just used). */
export function touchChat(id) {
  const chats = loadChats();
  const chat = chats.find((c) => c.id === id);
  if (chat) saveChats([chat, ...chats.filter((c) => c.id !== id)]);
}

/** Drops a chat the server no longer opens. */
export function forgetChat(id) {
  saveChats(loadChats().filter((c) => c.id !== id));
}

/** The secret of a chat, or null for a chat started without one. */
export function secretOf(id) {
  return loadChats().find((c) => c.id === id)?.secret ?? null;
}
