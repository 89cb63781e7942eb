// Tells when the open ticket changes: a first load, or a single-page navigation to another
// ticket (pushState, a tab switch in the helpdesk). Content scripts can't see the page's
// history calls, so this watches the DOM (throttled) and compares what the adapter reads.

const THROTTLE_MS = 50;
// history.pushState leaves no trace a content script can listen to; a cheap look at the URL
// catches navigations that change only the URL and which elements are shown.
const URL_POLL_MS = 400;

function signature(ticket) {
  return ticket ? [ticket.id, ticket.subject, ticket.body].join('\u0000') : '';
}

/** Call `onChange(ticket | null)` now and whenever the ticket on the page changes. */
export function watchTicket(readTicket, onChange, signal) {
  let last;
  let timer = null;
  const check = () => {
    timer = null;
    const ticket = readTicket();
    const sig = signature(ticket);
    if (sig === last) return;
    last = sig;
    onChange(ticket);
  };
  const schedule = () => {
    if (timer === null) timer = setTimeout(check, THROTTLE_MS);
  };
  const observer = new MutationObserver(schedule);
  observer.observe(document.documentElement, { subtree: true, childList: true, characterData: true });
  window.addEventListener('popstate', schedule, { signal });
  window.addEventListener('hashchange', schedule, { signal });
  let href = location.href;
  const poll = setInterval(() => {
    if (location.href !== href) {
      href = location.href;
      schedule();
    }
  }, URL_POLL_MS);
  signal.addEventListener('abort', () => {
    observer.disconnect();
    clearTimeout(timer);
    clearInterval(poll);
  });
  check();
  return { recheck: check, forget: () => (last = undefined) };
}
