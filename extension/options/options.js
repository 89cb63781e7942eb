// The options page: server URL and token (with a test that says what is wrong), the
// agent's name, and the generic adapter's sites and selectors.

import { DEFAULTS, loadConfig, saveConfig } from '../shared/config.js';
import { MSG, send } from '../shared/messages.js';

const $ = (id) => document.getElementById(id);
const LOCAL = /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/;

function readForm() {
  const selectors = {};
  for (const input of document.querySelectorAll('[data-selector]')) {
    if (input.value.trim()) selectors[input.dataset.selector] = input.value.trim();
  }
  return {
    backendUrl: $('backendUrl').value.trim().replace(/\/+$/, ''),
    token: $('token').value.trim(),
    agentName: $('agentName').value.trim(),
    openOnTicket: $('openOnTicket').checked,
    genericSites: $('genericSites')
      .value.split('\n')
      .map((s) => s.trim())
      .filter(Boolean),
    genericSelectors: selectors,
  };
}

function fillForm(config) {
  $('backendUrl').value = config.backendUrl || '';
  $('token').value = config.token || '';
  $('agentName').value = config.agentName || '';
  $('openOnTicket').checked = config.openOnTicket !== false;
  $('genericSites').value = (config.genericSites || []).join('\n');
  for (const input of document.querySelectorAll('[data-selector]')) {
    input.value = (config.genericSelectors || {})[input.dataset.selector] || '';
  }
}

function say(el, ok, message) {
  el.dataset.ok = String(ok);
  el.textContent = message;
}

function originPattern(url) {
  const { protocol, hostname } = new URL(url);
  return `${protocol}//${hostname}/*`;
}

async function testConnection() {
  const { backendUrl, token } = readForm();
  const out = $('test-result');
  if (!backendUrl) return say(out, false, 'Enter the server URL first.');
  out.removeAttribute('data-ok');
  out.textContent = 'Testing…';
  const result = await send(MSG.TEST_CONNECTION, { backendUrl, token });
  if (result.ok) say(out, true, result.data.message);
  else say(out, false, result.error.detail || result.error.title || 'The test failed.');
}

async function save(event) {
  event.preventDefault();
  const values = readForm();
  const out = $('save-result');
  try {
    new URL(values.backendUrl);
  } catch {
    return say(out, false, 'The server URL is not a URL (e.g. http://127.0.0.1:5000).');
  }
  // Chrome asks once per origin; without it the worker's calls still work through CORS.
  const origins = [...values.genericSites];
  if (!LOCAL.test(new URL(values.backendUrl).origin)) origins.push(originPattern(values.backendUrl));
  if (origins.length) {
    try {
      await chrome.permissions.request({ origins });
    } catch (error) {
      return say(out, false, `Chrome refused a site pattern: ${error.message}`);
    }
  }
  await saveConfig(values);
  say(out, true, 'Saved. Open tickets pick it up at once.');
}

document.addEventListener('DOMContentLoaded', async () => {
  fillForm({ ...DEFAULTS, ...(await loadConfig()) });
  $('extension-id').textContent = `chrome-extension://${chrome.runtime.id}`;
  $('options').addEventListener('submit', save);
  $('test').addEventListener('click', testConnection);
  $('show-token').addEventListener('click', () => {
    const hidden = $('token').type === 'password';
    $('token').type = hidden ? 'text' : 'password';
    $('show-token').textContent = hidden ? 'Hide' : 'Show';
  });
});
