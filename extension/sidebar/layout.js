// Where the panel sits and how wide it is: docked right or left, resizable by its inner edge,
// and the page made narrower by as much, so the sidebar never covers the helpdesk's composer
// or its order facts. The choice is kept per browser profile (chrome.storage.local).

const MIN_WIDTH = 300;
const DEFAULT_WIDTH = 360;
const KEYS = ['sidebarDock', 'sidebarWidth'];

export class Layout {
  static async load(host) {
    let saved = {};
    try {
      saved = await chrome.storage.local.get(KEYS);
    } catch {
      // no storage (extension reloaded): defaults
    }
    return new Layout(host, saved.sidebarDock === 'left' ? 'left' : 'right', Number(saved.sidebarWidth) || DEFAULT_WIDTH);
  }

  constructor(host, dock, width) {
    this.host = host;
    this.dock = dock;
    this.width = width;
    this.open = false;
  }

  /** At most 60% of the window, so the helpdesk keeps the larger part. */
  clamp(width) {
    return Math.round(Math.max(MIN_WIDTH, Math.min(width, Math.max(MIN_WIDTH, window.innerWidth * 0.6))));
  }

  attach(resizer, dockButton) {
    this.dockButton = dockButton;
    resizer.addEventListener('pointerdown', (event) => {
      event.preventDefault();
      resizer.setPointerCapture(event.pointerId);
      const move = (e) => {
        this.width = this.clamp(this.dock === 'right' ? window.innerWidth - e.clientX : e.clientX);
        this.apply(this.open);
      };
      const up = () => {
        resizer.removeEventListener('pointermove', move);
        resizer.removeEventListener('pointerup', up);
        this.save();
      };
      resizer.addEventListener('pointermove', move);
      resizer.addEventListener('pointerup', up);
    });
    resizer.addEventListener('keydown', (event) => {
      const step = { ArrowLeft: 20, ArrowRight: -20 }[event.key];
      if (!step) return;
      event.preventDefault();
      this.width = this.clamp(this.width + (this.dock === 'right' ? step : -step));
      this.apply(this.open);
      this.save();
    });
    resizer.tabIndex = 0;
    window.addEventListener('resize', () => this.apply(this.open));
    this.apply(false);
  }

  flip() {
    this.dock = this.dock === 'right' ? 'left' : 'right';
    this.apply(this.open);
    this.save();
  }

  save() {
    chrome.storage.local.set({ sidebarDock: this.dock, sidebarWidth: this.width }).catch(() => {});
  }

  /** Place the panel and make room for it in the page (only while it is open). */
  apply(open) {
    this.open = open;
    const width = this.clamp(this.width);
    this.host.dataset.dock = this.dock;
    this.host.style.setProperty('--ra-width', `${width}px`);
    const html = document.documentElement.style;
    html.removeProperty('margin-left');
    html.removeProperty('margin-right');
    if (open) html.setProperty(this.dock === 'right' ? 'margin-right' : 'margin-left', `${width}px`, 'important');
    if (this.dockButton) {
      const other = this.dock === 'right' ? 'left' : 'right';
      this.dockButton.title = `Dock on the ${other}`;
      this.dockButton.setAttribute('aria-label', `Dock on the ${other}`);
    }
  }
}
