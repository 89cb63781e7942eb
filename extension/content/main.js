// The content script: reads the ticket through the page's adapter, asks the worker for
// suggestions, draws them in the sidebar, and inserts the chosen reply into the composer.

import { ERROR, MSG, send } from '../shared/messages.js';
import { DEFAULTS } from '../shared/config.js';
import { logError } from '../shared/log.js';
import { pickAdapter } from './adapters/index.js';
import { holdsText, insertText, trackCaret } from './insert.js';
import { watchTicket } from './ticket-watcher.js';
import { initShortcuts } from './shortcuts.js';
import { createPanel } from '../sidebar/panel.js';

export async function start() {
  const controller = new AbortController();
  const { signal } = controller;
  const config = { ...DEFAULTS, ...(await chrome.storage.local.get(Object.keys(DEFAULTS))) };
  let adapter = pickAdapter(location, document, config);
  let ticket = null;
  let request = 0;
  let closedByAgent = false;

  const caret = trackCaret(() => adapter.findComposer(document), signal);

  // Languages the agent chose for tickets (the detected one was wrong), by ticket id.
  const languages = new Map();

  /** The ticket as the server takes it: the agent's name from the options if the page lacks it,
   * where it lives (helpdesk and account host), since ticket ids of two helpdesks collide, the
   * page's address (links back from repeat-contact banners), and the language the agent chose. */
  const withAgent = (t) => {
    const out = {
      helpdesk: adapter.name || 'generic',
      brand: location.hostname,
      ...(t.agent && t.agent.first_name
        ? t
        : { ...t, agent: { ...(t.agent || {}), ...(config.agentName ? { first_name: config.agentName } : {}) } }),
    };
    if (!out.url && /^https?:$/.test(location.protocol)) out.url = location.href;
    if (languages.has(t.id)) out.language = languages.get(t.id);
    return out;
  };

  async function suggest() {
    const seq = ++request;
    panel.showLoading(ticket);
    panel.forcedLanguage = languages.get(ticket.id) || null;
    const result = await send(MSG.SUGGEST, { ticket: withAgent(ticket), limit: 5 });
    if (seq !== request) return; // the agent moved on to another ticket meanwhile
    if (result.ok) panel.showSuggestions(ticket, result.data);
    else panel.showError(result.error);
  }

  async function loadMine() {
    const result = await send(MSG.MY_REPLIES, {});
    if (result.ok) panel.setMine(result.data);
  }

  async function insert(reply, fields, confirmIneligible, language, options = {}) {
    const current = ticket;
    if (!current) return { ok: false, error: { kind: ERROR.HTTP, detail: 'No ticket is open.' } };
    const payload = { key: reply.key, ticket: withAgent(current), fields, confirmIneligible, ...options };
    if (language) payload.language = language;
    const result = await send(MSG.INSERT, payload);
    if (!result.ok) return result;
    loadMine(); // it is a recent reply now
    // Never into another ticket's reply box: the agent may have moved on meanwhile.
    const composer = ticket === current ? adapter.findComposer(document) : null;
    let inserted = false;
    let already = false;
    if (composer && result.data.text) {
      try {
        // A second click (or a retry) on the same reply: the text is there, don't add it again.
        already = holdsText(composer, result.data.text);
        if (!already) inserted = insertText(composer, result.data.text, caret());
      } catch (error) {
        logError('insert', error);
      }
    }
    return { ...result, inserted, already };
  }

  const panel = await createPanel({
    onRetry: () => ticket && suggest(),
    onInsert: insert,
    onSearch: (q) => send(MSG.SEARCH, { q, limit: 8 }),
    onRender: (keys, language) =>
      ticket
        ? send(MSG.RENDER, { ticket: withAgent(ticket), keys, language: language || languages.get(ticket.id) })
        : Promise.resolve({ ok: false, error: { kind: ERROR.HTTP, detail: 'No ticket is open.' } }),
    onLanguage: (language) => {
      if (!ticket) return;
      if (language) languages.set(ticket.id, language);
      else languages.delete(ticket.id);
      suggest();
    },
    onFavourite: (key, on) => send(MSG.FAVOURITE, { key, on }),
    onAlert: () => send(MSG.ALERT, { ticket: withAgent(ticket) }),
    onOpenOptions: () => send(MSG.OPEN_OPTIONS),
    onOpenChange: (open) => {
      closedByAgent = !open;
    },
  });
  initShortcuts(panel, panel.host, signal);
  loadMine();

  const watcher = watchTicket(
    () => adapter.readTicket(document, location),
    (next) => {
      ticket = next;
      if (!ticket) {
        request++;
        panel.showIdle();
        return;
      }
      if (!closedByAgent && config.openOnTicket && !panel.isOpen) panel.setOpen(true);
      suggest();
    },
    signal,
  );

  chrome.runtime.onMessage.addListener((message) => {
    if (message && message.type === MSG.TOGGLE_SIDEBAR) panel.toggle();
  });

  // A fixed token or URL, or new selectors, apply at once: no reload needed.
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area !== 'local') return;
    for (const [key, { newValue }] of Object.entries(changes)) {
      if (key in DEFAULTS) config[key] = newValue === undefined ? DEFAULTS[key] : newValue;
    }
    if (changes.genericSelectors) adapter = pickAdapter(location, document, config);
    if (changes.backendUrl || changes.token || changes.genericSelectors || changes.agentName) {
      watcher.forget();
      watcher.recheck();
    }
  });
}
