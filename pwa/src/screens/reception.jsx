// Recording a reception the cadre held (接访): where, how many residents came and the issue raised, if
// any. Queued in the outbox like a check-in (RecordReception through POST /sync); the sender is the receiver.
import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../context.js';
import { MAX_RESIDENTS, receptionPayload } from '../lib/reception.js';
import { villageNames } from '../lib/visit.js';
import { t } from '../i18n/index.js';
import { codes, label } from '../i18n/vocab.js';
import { navigate, useUsable } from '../router.jsx';

export function Reception() {
  const app = useApp();
  const [villages, setVillages] = useState(null);
  const [problem, setProblem] = useState('');
  useEffect(() => {
    app.db.getAll('households').then((households) => setVillages(Object.entries(villageNames(households)).sort()));
  }, []);
  useUsable('reception', villages !== null);
  if (!villages) return null;

  async function submit(event) {
    event.preventDefault();
    const fields = Object.fromEntries(new FormData(event.currentTarget));
    if (String(fields.summary || '').trim() && !fields.village) return setProblem(t('reception_issue_needs_village'));
    const payload = receptionPayload(fields, new Date().toISOString());
    await app.record([{ type: 'record_reception', label: payload.place, payload }]);
    navigate('/today?saved=1');
  }

  return (
    <form class="card" onSubmit={submit}>
      <h1>{t('reception_title')}</h1>
      <label>
        {t('reception_place')}
        <input name="place" required maxLength={200} data-testid="reception-place" />
      </label>
      <label>
        {t('reception_village')}
        <select name="village" data-testid="reception-village">
          <option value="">—</option>
          {villages.map(([code, name]) => <option value={code}>{name}</option>)}
        </select>
      </label>
      <label>
        {t('reception_residents')}
        <input name="residents" type="number" inputMode="numeric" min="0" max={MAX_RESIDENTS} required defaultValue="0" data-testid="reception-residents" />
      </label>
      <label>
        {t('checkin_issue_category')}
        <select name="category">
          {codes('issue_category').map((code) => <option value={code}>{label('issue_category', code)}</option>)}
        </select>
      </label>
      <label>
        {t('reception_issue')}
        <textarea name="summary" maxLength={200} rows={2} placeholder={t('reception_issue_none')} data-testid="reception-issue" />
      </label>
      {problem && <p class="error">{problem}</p>}
      <button class="primary" data-testid="reception-submit">{t('reception_submit')}</button>
    </form>
  );
}
