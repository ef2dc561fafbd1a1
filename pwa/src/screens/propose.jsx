// Proposing a household missing from the records (新增农户申报): queued in the outbox like a check-in,
// so it works offline; the county office confirms, merges or refuses it.
import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../context.js';
import { knownVillages, proposalCommand } from '../lib/proposal.js';
import { t } from '../i18n/index.js';
import { codes, label } from '../i18n/vocab.js';
import { navigate, useUsable } from '../router.jsx';
import { useFix } from './checkin.jsx';

export function Propose() {
  const app = useApp();
  const [villages, setVillages] = useState(null);
  const [tags, setTags] = useState([]);
  const [problems, setProblems] = useState([]);
  const [{ status, fix }, retry] = useFix();
  useEffect(() => {
    app.db.getAll('households').then((list) => setVillages(knownVillages(list)));
  }, []);
  useUsable('propose', villages !== null);
  if (villages === null) return null;

  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const fields = Object.fromEntries(form.entries());
    const village = villages.find((v) => v.code === fields.village);
    const command = proposalCommand({ ...fields, tags }, fix, { villageName: village?.name });
    if (command.problems) return setProblems(command.problems);
    await app.record([command]);
    navigate('/households?proposed=1');
  }

  const toggle = (code) => setTags((list) => (list.includes(code) ? list.filter((x) => x !== code) : [...list, code]));
  return (
    <form class="card" onSubmit={submit} data-testid="propose-form">
      <h1>{t('propose_title')}</h1>
      <p class="hint">{t('propose_hint')}</p>
      <label>
        {t('propose_head_name')}
        <input name="head_name" maxLength={50} required />
      </label>
      <label>
        {t('propose_phone')}
        <input name="phone" type="tel" maxLength={20} />
      </label>
      <label>
        {t('propose_village')}
        <select name="village" required>
          {villages.map((v) => <option value={v.code}>{v.name}</option>)}
        </select>
      </label>
      <label>
        {t('propose_address')}
        <input name="address" maxLength={100} required />
      </label>
      <label>
        {t('propose_size')}
        <input name="size" type="number" min={1} max={30} step={1} value="1" required />
      </label>
      <fieldset class="chips">
        {codes('household_tag').map((code) => (
          <label class="chip">
            <input type="checkbox" checked={tags.includes(code)} onChange={() => toggle(code)} />
            {label('household_tag', code)}
          </label>
        ))}
      </fieldset>
      <label>
        {t('propose_notes')}
        <textarea name="notes" maxLength={500} />
      </label>
      <div class={`gps ${status}`} data-status={status}>
        <b>{t('checkin_gps')}</b>{' '}
        {fix ? t('checkin_gps_accuracy', { m: Math.round(fix.accuracy_m) }) : t('checkin_gps_waiting')}
        {status !== 'good' && (
          <button type="button" onClick={retry}>
            {t('checkin_gps_retry')}
          </button>
        )}
      </div>
      {problems.map((key) => <p class="error">{t(key)}</p>)}
      <button class="primary">{t('propose_submit')}</button>
    </form>
  );
}
