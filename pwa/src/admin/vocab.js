// The code labels the admin pages show (services/vocabulary/, which the XLSX ledgers read too). The
// groups the phone shows as well are the field bundle's modules, shared with this chunk, not copies.
import { vocabulary } from '../i18n/vocab.js';
import household_tag from '../../../services/vocabulary/household_tag.json';
import rank from '../../../services/vocabulary/rank.json';
import issue_route from '../../../services/vocabulary/issue_route.json';
import issue_state from '../../../services/vocabulary/issue_state.json';
import issue_status from '../../../services/vocabulary/issue_status.json';
import satisfaction from '../../../services/vocabulary/satisfaction.json';
import due_status from '../../../services/vocabulary/due_status.json';
import cadence from '../../../services/vocabulary/cadence.json';
import target_kind from '../../../services/vocabulary/target_kind.json';
import role from '../../../services/vocabulary/role.json';
import audit_action from '../../../services/vocabulary/audit_action.json';
import visit_kind from '../../../services/vocabulary/visit_kind.json';
import visit_topic from '../../../services/vocabulary/visit_topic.json';
import festival from '../../../services/vocabulary/festival.json';

export const { label, codes } = vocabulary({
  household_tag, rank, issue_route, issue_state, issue_status, satisfaction, due_status, cadence, target_kind, role,
  audit_action, visit_kind, visit_topic, festival,
});
