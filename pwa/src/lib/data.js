// The cadre's data kept for offline use: households (delta by cursor), due list, stats, cadres, and the
// county's register of contact targets (checked in at like households).
// Each refresh is best effort: offline, the cached copy is what the screens show.
import { getMeta, setMeta } from './db.js';
import { eachPage, everyItem } from './pages.js';

// A township holds up to tens of thousands of households: they come a page at a time, each page stored as it
// comes. The cursor is the first page's and is kept only once every page has come, so a walk cut short
// (offline halfway) is made again from the old cursor next time: what changed meanwhile is not skipped.
export async function refreshHouseholds(db, api, { now = () => new Date() } = {}) {
  const since = await getMeta(db, 'households_cursor');
  let cursor = null;
  let count = 0;
  await eachPage((after) => api.households(since, after), async (answer) => {
    cursor ??= answer.cursor;
    const tx = db.transaction(['households', 'details'], 'readwrite');
    for (const household of answer.households) {
      if (household.archived) tx.objectStore('households').delete(household.id);
      else tx.objectStore('households').put(household);
      // An erased household's cached detail still holds its visits' and issues' texts: drop it.
      if (household.erased) tx.objectStore('details').delete(household.id);
    }
    await tx.done;
    count += answer.households.length;
  });
  const tx = db.transaction('meta', 'readwrite');
  tx.store.put(cursor, 'households_cursor');
  // A download is a successful sync too: the Sync screen must not say "never" after it.
  tx.store.put(now().toISOString(), 'last_download_at');
  await tx.done;
  return count;
}

// A township cadre's due list can hold thousands of households: fetched a page at a time, and the cached list
// replaced only once every page has come (a half-fetched list would hide the rest).
export async function refreshDue(db, api) {
  await setMeta(db, 'due', await everyItem(api.due));
}

export async function refreshStats(db, api) {
  await setMeta(db, 'stats', await api.stats());
}

export async function refreshCadres(db, api) {
  const { cadres } = await api.cadres();
  await setMeta(db, 'cadres', cadres);
}

// A county's register is small (branches, enterprises, projects: hundreds); a cap keeps a phone's cache bounded.
export const MAX_TARGETS = 2000;

export async function refreshTargets(db, api) {
  await setMeta(db, 'targets', await everyItem(api.targets, MAX_TARGETS));
}

export async function refreshDetail(db, api, id) {
  const detail = await api.household(id);
  await db.put('details', { ...detail, id });
  return detail;
}

/** Everything at once; the errors are collected, not thrown, so one missing endpoint hides nothing else. */
export async function refreshAll(db, api) {
  const tasks = {
    households: refreshHouseholds, due: refreshDue, stats: refreshStats, cadres: refreshCadres, targets: refreshTargets,
  };
  const errors = {};
  await Promise.all(
    Object.entries(tasks).map(([name, task]) => task(db, api).catch((error) => (errors[name] = error))),
  );
  return errors;
}
