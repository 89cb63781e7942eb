// Content scripts can't be ES modules; this classic script loads the module graph.
// Guarded because a page may match both a built-in helpdesk and an agent-added site.
(() => {
  if (globalThis.__replyAssistStarted) return;
  globalThis.__replyAssistStarted = true;
  import(chrome.runtime.getURL('content/main.js'))
    .then((main) => main.start())
    .catch((error) => console.error('[Reply Assist] failed to start', error));
})();
