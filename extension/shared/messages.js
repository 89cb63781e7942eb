// Every message the extension's parts exchange, by name, in one place.
// Content script and options page -> service worker: the worker answers with a Result,
// `{ ok: true, data }` or `{ ok: false, error: { kind, status, title, detail, fields, reason } }`.
// Service worker -> content script: TOGGLE_SIDEBAR (the keyboard command), no answer.

export const MSG = Object.freeze({
  SUGGEST: 'ra:suggest', // { ticket, limit? } -> suggest response
  SEARCH: 'ra:search', // { q, kind?, language?, limit? } -> search response
  INSERT: 'ra:insert', // { key, ticket, fields, language?, confirmIneligible?, withoutOffer?, withheldBecause? } -> insertion
  RENDER: 'ra:render', // { ticket, keys, language? } -> { language, replies } (search hits, favourites)
  MY_REPLIES: 'ra:my-replies', // { language? } -> { favourites, recent }
  FAVOURITE: 'ra:favourite', // { key, on, language? } -> { favourites, recent }
  ALERT: 'ra:alert', // { ticket, note? } -> the alert for customer success
  FEEDBACK: 'ra:feedback', // { ticketId, key, reason?, language?, undo? } -> feedback (or {} on undo)
  TEST_CONNECTION: 'ra:test-connection', // { backendUrl, token } -> { steps: [...] }
  OPEN_OPTIONS: 'ra:open-options', // {} -> {}
  TOGGLE_SIDEBAR: 'ra:toggle-sidebar', // {} (worker -> tab)
});

// Error kinds a Result may carry; the sidebar chooses its message and actions by kind.
export const ERROR = Object.freeze({
  NOT_CONFIGURED: 'not-configured', // no token or backend URL yet
  NETWORK: 'network', // backend unreachable (down, wrong URL, timeout)
  AUTH: 'auth', // 401: the token was refused
  FORBIDDEN: 'forbidden', // 403: role or origin refused
  VALIDATION: 'validation', // 422: fields to fix
  NOT_ELIGIBLE: 'not-eligible', // 409 from /insertions: the reply doesn't fit the ticket
  CONFLICT: 'conflict', // 409: e.g. an offer limit refused the code
  HTTP: 'http', // any other problem the server reported
  EXTENSION: 'extension', // the extension itself (reloaded, worker gone)
});

/** Send a typed message to the service worker; always resolves to a Result. */
export async function send(type, payload = {}) {
  try {
    const result = await chrome.runtime.sendMessage({ type, payload });
    if (result && typeof result.ok === 'boolean') return result;
    return failure(ERROR.EXTENSION, 'The extension did not answer. Reload the page.');
  } catch (error) {
    // After the extension is updated or reloaded, old content scripts lose their channel.
    return failure(ERROR.EXTENSION, `The extension was reloaded or stopped (${error.message}). Reload the page.`);
  }
}

export function success(data) {
  return { ok: true, data };
}

export function failure(kind, detail, extra = {}) {
  return { ok: false, error: { kind, detail, title: extra.title || '', ...extra } };
}
