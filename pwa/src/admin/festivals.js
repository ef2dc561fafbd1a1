// The festival campaign page's pure logic (../admin/campaigns.jsx), apart so that Vitest reads it without JSX.
import { at } from './i18n.js';

/** What is wrong with a window the form is about to send (the server says the same), or null. */
export function windowProblem(startsOn, endsOn) {
  if (!startsOn || !endsOn) return at('campaign_window_missing');
  return endsOn < startsOn ? at('campaign_window_backwards', { start: startsOn }) : null;
}

/** Villages with the most households still to visit first (where to send people), then by code. */
export const byRemaining = (rows) =>
  [...rows].sort((a, b) => b.remaining - a.remaining || String(a.village ?? a.township).localeCompare(b.village ?? b.township));
