// The generic adapter on sites the agent adds in the options (their own helpdesk): the
// content script is registered for those match patterns once the agent has granted them.

import { loadConfig } from '../shared/config.js';
import { logError } from '../shared/log.js';

const SCRIPT_ID = 'ra-generic-sites';

export async function syncGenericSites() {
  const { genericSites } = await loadConfig();
  const granted = [];
  for (const pattern of genericSites || []) {
    try {
      if (await chrome.permissions.contains({ origins: [pattern] })) granted.push(pattern);
    } catch (error) {
      logError(`generic site ${pattern}`, error);
    }
  }
  const existing = await chrome.scripting.getRegisteredContentScripts({ ids: [SCRIPT_ID] });
  if (existing.length) await chrome.scripting.unregisterContentScripts({ ids: [SCRIPT_ID] });
  if (!granted.length) return [];
  await chrome.scripting.registerContentScripts([
    { id: SCRIPT_ID, matches: granted, js: ['content/loader.js'], runAt: 'document_end', persistAcrossSessions: true },
  ]);
  return granted;
}

export function initGenericSites() {
  const sync = () => syncGenericSites().catch((error) => logError('generic sites', error));
  chrome.runtime.onInstalled.addListener(sync);
  chrome.runtime.onStartup.addListener(sync);
  chrome.permissions.onAdded.addListener(sync);
  chrome.permissions.onRemoved.addListener(sync);
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && changes.genericSites) sync();
  });
}
