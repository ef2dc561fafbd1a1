// My research topics (调研课题) and filing a report on one (调研报告): the topics come from the server
// when online and are kept for offline use; the report goes into the outbox like every record and
// reaches the server through /sync (`file_report`), which checks the topic is still the cadre's.
import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../context.js';
import { getMeta, setMeta } from '../lib/db.js';
import { t } from '../i18n/index.js';
import { navigate, useUsable } from '../router.jsx';

export function Research() {
  const app = useApp();
  const [topics, setTopics] = useState(null);
  const [problem, setProblem] = useState('');

  useEffect(() => {
    getMeta(app.db, 'research_topics').then((cached) => setTopics((list) => list || cached || []));
    if (navigator.onLine) {
      app.api.researchTopics().then(
        async (page) => {
          await setMeta(app.db, 'research_topics', page.items);
          setTopics(page.items);
        },
        () => {},
      );
    }
  }, [app.version]);
  useUsable('research', topics !== null);
  if (!topics) return null;

  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const topic = topics.find((x) => x.topic_id === form.get('topic_id'));
    const title = String(form.get('title') || '').trim();
    const summary = String(form.get('summary') || '').trim();
    if (!topic) return setProblem(t('research_pick_required'));
    if (!title || !summary) return setProblem(t('research_text_required'));
    await app.record([
      {
        type: 'file_report',
        label: title,
        payload: { topic_id: topic.topic_id, title, summary, visit_ids: [], issue_ids: [],
                   occurred_at: new Date().toISOString() },
      },
    ]);
    navigate('/sync');
  }
  return (
    <section>
      <h1>{t('research_title')}</h1>
      {topics.length === 0 ? (
        <p class="empty">{t('research_none')}</p>
      ) : (
        <ul class="list" data-testid="research-topics">
          {topics.map((x) => (
            <li>
              <b>{x.title}</b>
              <small>
                {t('research_due', { day: x.due_on })} · {t(`research_state_${x.state}`)} ·{' '}
                {t('research_reports', { n: x.reports })}
              </small>
            </li>
          ))}
        </ul>
      )}
      {topics.length > 0 && (
        <form class="card" onSubmit={submit} data-testid="report-form">
          <h2>{t('research_file')}</h2>
          <label>
            {t('research_topic')}
            <select name="topic_id">
              <option value="">{t('research_pick')}</option>
              {topics.map((x) => <option value={x.topic_id}>{x.title}</option>)}
            </select>
          </label>
          <label>
            {t('research_report_title')}
            <input name="title" maxLength={100} />
          </label>
          <label>
            {t('research_summary')}
            <textarea name="summary" maxLength={5000} rows={6} />
          </label>
          {problem && <p class="error">{problem}</p>}
          <button class="primary">{t('research_submit')}</button>
        </form>
      )}
    </section>
  );
}
