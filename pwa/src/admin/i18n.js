// The admin pages' strings (one file per language under ./i18n/) in the language the field app shares
// (../i18n/language.js). Code labels come from the vocabulary (./vocab.js).
import { language } from '../i18n/language.js';
import zh from './i18n/zh-CN.js';
import en from './i18n/en.js';

const dictionaries = { 'zh-CN': zh, en };

export function at(key, params = {}) {
  const text = (dictionaries[language()] || zh)[key] ?? zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? `{${name}}`));
}

export const KEYS = { zh: Object.keys(zh), en: Object.keys(en) };

/** A percentage for a table cell: 87.5 → "87.5%", null → "—". */
export const pct = (value) => (value === null || value === undefined ? '—' : `${value}%`);
