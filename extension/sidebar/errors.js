// What went wrong, in words an agent can act on: no API vocabulary ("see `errors`"), no raw
// ISO timestamps, the fields named by their labels.

import { ERROR } from '../shared/messages.js';

const ISO_MOMENT = /\b(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?\b/g;
const WHEN = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
const DAY = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium' });

/** "2027-03-01T06:08:18+00:00" -> "1 Mar 2027, 07:08" (the agent's time zone); dates alone stay dates. */
export function readableTimes(text) {
  return String(text || '').replace(ISO_MOMENT, (match, day, time) => {
    const moment = new Date(time ? match : `${day}T00:00:00`);
    if (Number.isNaN(moment.getTime())) return match;
    return time ? WHEN.format(moment) : DAY.format(moment);
  });
}

/** Server wording that only makes sense to an API client, taken out. */
function plain(detail) {
  return readableTimes(
    String(detail || '')
      .replace(/;?\s*see `errors`\.?/g, '.')
      .replace(/\s*Send confirm_ineligible: true to insert it anyway\.?/g, '')
      .replace(/`/g, '')
      .replace(/\.\.+$/, '.'),
  ).trim();
}

/** Field messages as "Label: message" lines, using the labels the agent sees. */
export function fieldProblems(error, labelOf = (name) => name) {
  return Object.entries(error.fields || {}).map(
    ([name, messages]) => `${labelOf(name)}: ${[].concat(messages).join(' ')}`,
  );
}

/** One sentence (or two) for an error Result's `error`. */
export function plainMessage(error, labelOf) {
  if (error.kind === ERROR.VALIDATION) {
    const problems = fieldProblems(error, labelOf);
    if (problems.length) return `Check ${problems.length > 1 ? 'these fields' : 'this field'}: ${problems.join('; ')}`;
    const other = Object.entries(error.errors || {})
      .map(([name, messages]) => `${name}: ${JSON.stringify(messages).replace(/[{}[\]"]/g, ' ').trim()}`)
      .join('; ');
    return plain(other ? `${plain(error.detail)} (${other})` : error.detail) || 'The server could not use this request.';
  }
  if (error.kind === ERROR.CONFLICT && error.limit) {
    const when = error.availableFrom ? ` The next one can be given from ${readableTimes(error.availableFrom)}.` : '';
    const what = {
      per_customer: 'This customer already had this offer recently, so no new code can be issued.',
      per_agent_per_day: 'You have given as many codes of this offer as you may today.',
      pool: 'The shop has no codes of this offer left.',
    }[error.limit];
    return what ? `${what}${when}` : plain(error.detail);
  }
  return plain(error.detail || error.title) || 'Something went wrong.';
}
