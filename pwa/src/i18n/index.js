// The field app's strings in the current language (./language.js); code labels are in ./vocab.js.
import zh from './zh-CN.js';
import en from './en.js';
import { language } from './language.js';

const dictionaries = { 'zh-CN': zh, en };

export function t(key, params = {}) {
  const text = dictionaries[language()][key] ?? zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (params[name] ?? `{${name}}`));
}

/** A server reason `{zh, en}` in the current language. */
export const reasonText = (reason) => (reason ? (language() === 'en' ? reason.en : reason.zh) || reason.zh || reason.en : '');

/** The user-facing text of an HttpError's problem+json body. */
export const problemText = (error) =>
  (language() === 'en' ? error.problem?.detail : error.problem?.detail_zh || error.problem?.detail) || `HTTP ${error.status}`;

/** A device-local date and time, e.g. 2026/11/22 10:22. */
export const formatTime = (iso) =>
  new Date(iso).toLocaleString(language(), { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
