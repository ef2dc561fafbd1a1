// Labels of the domain's code names (DESIGN glossary) from services/vocabulary/, one JSON file per code
// group, which the XLSX ledgers read too. Only the groups a phone shows are imported here: this module
// is inlined into index.html, and the admin pages add theirs (../admin/vocab.js).
import visit_kind from '../../../services/vocabulary/visit_kind.json';
import household_tag from '../../../services/vocabulary/household_tag.json';
import visit_topic from '../../../services/vocabulary/visit_topic.json';
import interview_topic from '../../../services/vocabulary/interview_topic.json';
import interview_form from '../../../services/vocabulary/interview_form.json';
import interview_direction from '../../../services/vocabulary/interview_direction.json';
import issue_category from '../../../services/vocabulary/issue_category.json';
import issue_state_field from '../../../services/vocabulary/issue_state_field.json';
import rank from '../../../services/vocabulary/rank.json';
import festival from '../../../services/vocabulary/festival.json';
import target_kind from '../../../services/vocabulary/target_kind.json';
import { language } from './language.js';

/** Lookups over some groups: label(group, code) in the current language (the code when unknown), codes(group). */
export function vocabulary(groups) {
  return {
    label: (group, code) => groups[group]?.[language()]?.[code] ?? code,
    codes: (group) => Object.keys(groups[group]['zh-CN']),
  };
}

const FIELD_GROUPS = {
  visit_kind, household_tag, visit_topic, interview_topic, interview_form, interview_direction, issue_category,
  issue_state_field, rank, festival, target_kind,
};
export const { label, codes } = vocabulary(FIELD_GROUPS);
