// Entry of the field app. Opens the local store, renders at once from what the phone holds (no
// network wait before the first screen), then registers the service worker and syncs.
import { render } from 'preact';
import { openStore, getMeta } from './lib/db.js';
import { queued } from './lib/outbox.js';
import { App } from './app.jsx';
import { language } from './i18n/language.js';

document.documentElement.lang = language();

openStore().then(async (db) => {
  // One read of everything the first screen needs, so that it renders once, with its data.
  const [session, due, outbox] = await Promise.all([getMeta(db, 'session'), getMeta(db, 'due'), queued(db)]);
  render(<App db={db} initialSession={session || null} boot={{ due: due || [], outbox }} />, document.getElementById('app'));
});

if ('serviceWorker' in navigator) {
  // After load, so that registering and precaching never compete with the first screen.
  addEventListener('load', () => navigator.serviceWorker.register('/sw.js', { scope: '/' }));
}
