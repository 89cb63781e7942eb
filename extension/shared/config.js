// Settings in chrome.storage.local: what the options page writes and the worker reads.

export const DEFAULTS = Object.freeze({
  backendUrl: 'http://127.0.0.1:5000',
  token: '',
  agentName: '', // first name for signatures, when the helpdesk page doesn't say
  genericSites: [], // match patterns where the generic adapter runs, e.g. https://desk.example.com/*
  genericSelectors: {}, // { ticketId, subject, body, requesterName, requesterEmail, composer }
  openOnTicket: true, // open the sidebar when a ticket opens (else only with the shortcut)
});

export async function loadConfig() {
  const stored = await chrome.storage.local.get(Object.keys(DEFAULTS));
  return { ...DEFAULTS, ...stored };
}

export function saveConfig(values) {
  return chrome.storage.local.set(values);
}

/** The API root for a backend URL as people type it: with or without /api/v1 or a slash. */
export function apiRoot(backendUrl) {
  const base = String(backendUrl || '')
    .trim()
    .replace(/\/+$/, '')
    .replace(/\/api\/v1$/, '');
  return `${base}/api/v1`;
}
