// The language of both apps, Chinese by default; the choice is kept per browser in localStorage (not
// personal data). The field app's strings (./index.js), the admin pages' (../admin/i18n.js) and the
// code labels (./vocab.js) all read it here.
export const LANGUAGES = [
  ['zh-CN', '中文'],
  ['en', 'English'],
];
const known = (code) => LANGUAGES.some(([c]) => c === code);

let lang = (typeof localStorage !== 'undefined' && localStorage.getItem('lang')) || 'zh-CN';
if (!known(lang)) lang = 'zh-CN';

export const language = () => lang;
export function setLanguage(next) {
  lang = known(next) ? next : 'zh-CN';
  localStorage.setItem('lang', lang);
  document.documentElement.lang = lang;
}
