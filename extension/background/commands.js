// The keyboard command and the toolbar button: both toggle the sidebar in the current tab.

import { MSG } from '../shared/messages.js';

async function toggleIn(tab) {
  if (!tab || tab.id === undefined) return;
  try {
    await chrome.tabs.sendMessage(tab.id, { type: MSG.TOGGLE_SIDEBAR });
  } catch {
    // No content script in this tab (not a helpdesk page): the button opens the options.
    await chrome.runtime.openOptionsPage();
  }
}

export function initCommands() {
  chrome.commands.onCommand.addListener(async (command, tab) => {
    if (command !== 'toggle-sidebar') return;
    const target = tab || (await chrome.tabs.query({ active: true, currentWindow: true }))[0];
    await toggleIn(target);
  });
  chrome.action.onClicked.addListener(toggleIn);
}
