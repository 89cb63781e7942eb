// The demo helpdesk navigates between tickets without reloading, like real helpdesks:
// it fetches the next ticket's page and swaps the ticket in, then pushes the URL.

const parser = new DOMParser();

async function show(url, { push }) {
  const response = await fetch(url, { headers: { Accept: 'text/html' } });
  if (!response.ok) {
    window.location.assign(url);
    return;
  }
  const next = parser.parseFromString(await response.text(), 'text/html');
  document.getElementById('ticket').replaceWith(document.adoptNode(next.getElementById('ticket')));
  document.querySelector('nav.queue').replaceWith(document.adoptNode(next.querySelector('nav.queue')));
  document.title = next.title;
  if (push) history.pushState({}, '', url);
}

document.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-nav]');
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  // When the agent asked for the ticket: bench/open_latency.py reads it.
  document.documentElement.dataset.navAt = performance.now().toFixed(1);
  show(link.href, { push: true });
});

window.addEventListener('popstate', () => show(location.href, { push: false }));

document.addEventListener('submit', (event) => {
  const form = event.target.closest('form[data-composer]');
  if (!form) return;
  event.preventDefault();
  form.querySelector('textarea').value = '';
  form.querySelector('.sent').textContent = 'Sent (this demo sends nothing).';
});
