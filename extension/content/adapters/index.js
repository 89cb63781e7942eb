// Which adapter reads this page: a known helpdesk by host, the demo helpdesk by its marker,
// else the generic one with the agent's selectors.

import zendesk from './zendesk.js';
import freshdesk from './freshdesk.js';
import helpscout from './helpscout.js';
import gmail from './gmail.js';
import demo from './demo.js';
import { genericAdapter } from './generic.js';

export const ADAPTERS = [zendesk, freshdesk, helpscout, gmail, demo];

export function pickAdapter(loc, doc, config = {}) {
  return ADAPTERS.find((a) => a.matches(loc, doc)) || genericAdapter(config.genericSelectors || {});
}
