// Keyboard shortcuts, anywhere on the helpdesk page (also while typing in the composer):
//   Alt+Shift+R      open / close the sidebar (also a browser command, rebindable)
//   Alt+Shift+↓ / ↑  choose the next / previous reply
//   Alt+Shift+Enter  insert the chosen reply
//   /                search (when focus is in the sidebar)

export function initShortcuts(panel, host, signal) {
  window.addEventListener(
    'keydown',
    (event) => {
      const inSidebar = event.composedPath().includes(host);
      if (event.altKey && event.shiftKey && !event.ctrlKey && !event.metaKey) {
        const action = {
          KeyR: () => panel.toggle(),
          ArrowDown: () => panel.move(1),
          ArrowUp: () => panel.move(-1),
          Enter: () => panel.insertSelected(),
        }[event.code];
        if (action) {
          event.preventDefault();
          event.stopPropagation();
          action();
        }
        return;
      }
      if (!inSidebar || event.altKey || event.ctrlKey || event.metaKey) return;
      const typing = ['INPUT', 'TEXTAREA', 'SELECT'].includes(event.composedPath()[0]?.tagName);
      if (event.key === '/' && !typing) {
        event.preventDefault();
        panel.focusSearch();
      } else if (!typing && (event.key === 'ArrowDown' || event.key === 'ArrowUp')) {
        event.preventDefault();
        panel.move(event.key === 'ArrowDown' ? 1 : -1);
      } else if (!typing && event.key === 'Escape') {
        panel.setOpen(false);
      }
    },
    { capture: true, signal },
  );
}
