// Chinese by default; the choice is kept per phone in localStorage (not personal data).
import zh from './zh-CN.js';
import en from './en.js';
import vocab from './vocab.js';

const dictionaries = { 'zh-CN': zh, en };
export const LANGUAGES = [
  ['zh-CN', '中文'],
  ['en', 'English'],
];

let lang = (typeof localStorage !== 'undefined' && localStorage.getItem('lang')) || 'zh-CN';
if (!dictionaries[lang]) lang = 'zh-CN';

export const language = () => lang;
export function setLanguage(next) {
  lang = dictionaries[next] ? next : 'zh-CN';
  localStorage.setItem('lang', lang);
  document.documentElement.lang = lang;
}

export function t(key, params = {}) {
  const text = dictionaries[lang][key] ?? zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (params[name] ?? `{${name}}`));
}

/** Label of a code name: label('tag', 'left_behind_child'). */
export const label = (group, code) => vocab[lang][group]?.[code] ?? code;
export const codes = (group) => Object.keys(vocab['zh-CN'][group]);

/** A server reason `{zh, en}` in the current language. */
export const reasonText = (reason) => (reason ? (lang === 'en' ? reason.en : reason.zh) || reason.zh || reason.en : '');

/** The user-facing text of an HttpError's problem+json body. */
export const problemText = (error) =>
  (lang === 'en' ? error.problem?.detail : error.problem?.detail_zh || error.problem?.detail) || `HTTP ${error.status}`;

/** A device-local date and time, e.g. 2026/11/22 10:22. */
export const formatTime = (iso) =>
  new Date(iso).toLocaleString(lang, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
