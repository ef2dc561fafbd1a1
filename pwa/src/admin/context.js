// What every admin view shares: the API client, the session, and the live change counters (SSE).
import { createContext } from 'preact';
import { useContext, useEffect } from 'preact/hooks';
import { language } from '../i18n/language.js';

export const AdminContext = createContext(null);
export const useAdmin = () => useContext(AdminContext);

/** Runs `reload` now, when `deps` change, and whenever one of `projections` changed on the server. */
export function useLive(projections, reload, deps) {
  const { changes } = useAdmin();
  const tick = projections.reduce((sum, name) => sum + (changes[name] || 0), 0);
  useEffect(() => {
    reload();
  }, [...deps, tick]);
}

/** A failed request as text in the current language. */
export const problem = (error) =>
  (language() === 'en' ? error?.problem?.detail : error?.problem?.detail_zh || error?.problem?.detail) ||
  String(error?.message || error);

/** Marks a view ready (tests wait for it) once its data arrived. */
export const ready = (name) => {
  document.body.dataset.usable = name;
};

export const today = () => {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
};

const pad = (n) => String(n).padStart(2, '0');
/** An instant (ISO text) as the local calendar day, `2026-11-22`. */
export const localDay = (iso) => {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
};
/** An instant as local day and time, `2026-11-22 08:41`. */
export const localTime = (iso) => {
  const d = new Date(iso);
  return `${localDay(iso)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
};
