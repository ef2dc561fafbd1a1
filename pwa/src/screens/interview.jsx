import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../context.js';
import { getMeta } from '../lib/db.js';
import { t } from '../i18n/index.js';
import { codes, label } from '../i18n/vocab.js';
import { useUsable, navigate } from '../router.jsx';

export function Interview() {
  const app = useApp();
  const [cadres, setCadres] = useState(null);
  const [topics, setTopics] = useState([]);
  const [problem, setProblem] = useState('');

  useEffect(() => {
    getMeta(app.db, 'cadres').then((list) => setCadres(list || []));
  }, [app.version]);
  useUsable('interview', cadres !== null);
  if (!cadres) return null;

  const me = app.session.user.cadre_id;
  const others = cadres.filter((c) => c.id !== me);
  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const interviewee = others.find((c) => c.id === form.get('interviewee'));
    if (!interviewee) return setProblem(t('interview_pick_required'));
    await app.record([
      {
        type: 'hold_interview',
        label: interviewee.name,
        payload: {
          interviewee_id: interviewee.id,
          form: form.get('form'),
          direction: form.get('direction'),
          topics,
          opinions_count: Number(form.get('opinions_count') || 0),
          follow_up: form.get('follow_up') === 'on',
          occurred_at: new Date().toISOString(),
          note: (form.get('note') || '').trim(),
        },
      },
    ]);
    navigate('/sync');
  }
  const toggle = (code) => setTopics((list) => (list.includes(code) ? list.filter((x) => x !== code) : [...list, code]));
  return (
    <form class="card" onSubmit={submit}>
      <h1>{t('interview_title')}</h1>
      <label>
        {t('interview_interviewee')}
        <select name="interviewee">
          <option value="">{t('interview_pick')}</option>
          {others.map((c) => (
            <option value={c.id}>
              {c.name} · {label('rank', c.rank)} · {c.unit}
            </option>
          ))}
        </select>
      </label>
      {others.length === 0 && <p class="hint">{t('interview_no_cadres')}</p>}
      <label>
        {t('interview_form')}
        <select name="form">
          {codes('interview_form').map((code) => (
            <option value={code}>{label('interview_form', code)}</option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend>{t('interview_direction')}</legend>
        {codes('interview_direction').map((code, i) => (
          <label class="chip">
            <input type="radio" name="direction" value={code} defaultChecked={i === 0} />
            {label('interview_direction', code)}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>{t('interview_topics')}</legend>
        {codes('interview_topic').map((code) => (
          <label class="chip">
            <input type="checkbox" checked={topics.includes(code)} onChange={() => toggle(code)} />
            {label('interview_topic', code)}
          </label>
        ))}
      </fieldset>
      <label>
        {t('interview_opinions')}
        <input name="opinions_count" type="number" min="0" max="99" defaultValue="0" inputMode="numeric" />
      </label>
      <label class="check">
        <input type="checkbox" name="follow_up" />
        {t('interview_follow_up')}
      </label>
      <label>
        {t('interview_note')}
        <textarea name="note" maxLength={200} rows={2} />
      </label>
      {problem && <p class="error">{problem}</p>}
      <button class="primary">{t('interview_submit')}</button>
    </form>
  );
}
