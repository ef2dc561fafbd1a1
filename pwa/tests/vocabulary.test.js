// The code labels (services/vocabulary/, shared with the XLSX ledgers) and their lookups.
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { language, setLanguage } from '../src/i18n/language.js';
import { codes, label } from '../src/i18n/vocab.js';
import { label as adminLabel } from '../src/admin/vocab.js';

const FOLDER = new URL('../../services/vocabulary/', import.meta.url);
const groups = readdirSync(FOLDER).filter((name) => name.endsWith('.json'));

describe('vocabulary', () => {
  const before = language();
  afterEach(() => setLanguage(before));
  globalThis.localStorage ??= { getItem: () => null, setItem: () => {} };
  globalThis.document ??= { documentElement: {} };

  it.each(groups)('%s labels the same codes in Chinese and English, none empty', (name) => {
    const group = JSON.parse(readFileSync(new URL(name, FOLDER), 'utf8'));
    expect(Object.keys(group).sort()).toEqual(['en', 'zh-CN']);
    expect(Object.keys(group.en)).toEqual(Object.keys(group['zh-CN']));
    for (const text of [...Object.values(group.en), ...Object.values(group['zh-CN'])]) expect(text.trim()).not.toBe('');
  });

  it('labels a code in the current language and shows an unknown code as it is', () => {
    setLanguage('zh-CN');
    expect(label('household_tag', 'left_behind_child')).toBe('留守儿童');
    expect(adminLabel('issue_route', 'department')).toBe('转办职能部门');
    expect(adminLabel('audit_action', 'user.password_set')).toBe('重设密码');
    expect(label('visit_kind', 'teleport')).toBe('teleport');
    setLanguage('en');
    expect(label('rank', 'staff')).toBe('Staff');
    expect(adminLabel('satisfaction', 'basically_satisfied')).toBe('Basically satisfied');
  });

  it('lists a group’s codes in the file’s order', () => {
    expect(codes('interview_direction')).toEqual(['leader_to_cadre', 'cadre_to_leader']);
  });
});
