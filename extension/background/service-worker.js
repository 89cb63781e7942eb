// The MV3 service worker: the only part of the extension that calls the backend.
// Listeners are registered synchronously at the top level so a message that wakes the
// worker is not lost.

import { initRelay } from './relay.js';
import { initCommands } from './commands.js';
import { initGenericSites } from './generic-sites.js';

initRelay();
initCommands();
initGenericSites();
