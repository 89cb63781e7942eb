// Typed messages from content scripts and the options page, relayed to the backend.

import { apiRequest } from '../shared/api-client.js';
import { loadConfig } from '../shared/config.js';
import { ERROR, MSG, failure, success } from '../shared/messages.js';
import { logError } from '../shared/log.js';

const HANDLERS = {
  [MSG.SUGGEST]: async ({ ticket, limit = 5 }) =>
    apiRequest(await loadConfig(), { method: 'POST', path: '/suggest', body: { ticket, limit } }),

  [MSG.SEARCH]: async ({ q, kind, language, limit = 8 }) =>
    apiRequest(await loadConfig(), { path: '/search', query: { q, kind, language, limit } }),

  [MSG.INSERT]: async ({ key, ticket, fields = {}, language, confirmIneligible = false, withoutOffer, withheldBecause }) => {
    const body = { key, ticket, fields, confirm_ineligible: confirmIneligible };
    if (language) body.language = language;
    if (withoutOffer) Object.assign(body, { without_offer: true, withheld_because: withheldBecause || null });
    return apiRequest(await loadConfig(), { method: 'POST', path: '/insertions', body });
  },

  [MSG.RENDER]: async ({ ticket, keys, language }) =>
    apiRequest(await loadConfig(), { method: 'POST', path: '/replies/render', body: language ? { ticket, keys, language } : { ticket, keys } }),

  [MSG.MY_REPLIES]: async ({ language }) => apiRequest(await loadConfig(), { path: '/me/replies', query: { language } }),

  [MSG.FAVOURITE]: async ({ key, on, language }) =>
    apiRequest(await loadConfig(), {
      method: on ? 'PUT' : 'DELETE',
      path: `/me/favourites/${key.split('/').map(encodeURIComponent).join('/')}`,
      query: { language },
    }),

  [MSG.ALERT]: async ({ ticket, note }) =>
    apiRequest(await loadConfig(), { method: 'POST', path: '/contacts/alerts', body: { ticket, note: note || null } }),
  [MSG.FEEDBACK]: async ({ ticketId, key, reason, language, undo = false }) => {
    const body = undo ? { ticket_id: ticketId, key } : { ticket_id: ticketId, key, reason: reason || null };
    if (language && !undo) body.language = language;
    const result = await apiRequest(await loadConfig(), { method: undo ? 'DELETE' : 'POST', path: '/feedback', body });
    // DELETE answers 204 without a body: that is success too.
    return !result.ok && undo && result.error.status === 204 ? success({}) : result;
  },

  [MSG.TEST_CONNECTION]: async ({ backendUrl, token }) => testConnection({ backendUrl, token }),

  [MSG.OPEN_OPTIONS]: async () => {
    await chrome.runtime.openOptionsPage();
    return success({});
  },
};

export function initRelay() {
  chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
    // Only our own pages and content scripts; externally_connectable is not declared, but
    // say so here too rather than rely on it.
    if (sender.id !== chrome.runtime.id) return false;
    const handler = message && HANDLERS[message.type];
    if (!handler) return false;
    handler(message.payload || {}).then(sendResponse, (error) => {
      logError(`relay ${message.type}`, error);
      sendResponse(failure(ERROR.EXTENSION, `The extension failed: ${error.message}`));
    });
    return true; // answer asynchronously
  });
}

/** Check a URL and token the way the sidebar will use them, one step at a time. */
async function testConnection({ backendUrl, token }) {
  const config = { backendUrl, token };
  const health = await apiRequest(config, { path: '/health', auth: false });
  if (!health.ok && health.error.status === 404) {
    return failure(
      ERROR.HTTP,
      `${backendUrl} answered HTTP 404 for /api/v1/health: is this the Reply Assist server's address?`,
    );
  }
  if (!health.ok) return health;
  if (health.data.status !== 'ok' || typeof health.data.snippets !== 'number') {
    return failure(ERROR.HTTP, `${backendUrl} answered, but it is not a Reply Assist server.`);
  }
  if (!token) return failure(ERROR.NOT_CONFIGURED, 'The server answers. Now paste your API token.');
  // Any endpoint an agent may call: it checks the token and that the server accepts our origin.
  const check = await apiRequest(config, { path: '/snippets', query: { limit: 1 } });
  if (!check.ok) return check;
  return success({
    snippets: health.data.snippets,
    message: `Connected: Reply Assist answers with ${health.data.snippets} snippets, and it accepted the token.`,
  });
}
