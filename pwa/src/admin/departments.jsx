// The county's departments (职能部门): the list a department route and a review decision pick from,
// each with its code (kept by every route), name, former names and the accounts acting for it; add one,
// rename one (its routes stay: they carry the code).
import { useState } from 'preact/hooks';
import { at } from './i18n.js';
import { problem, ready, useAdmin, useLive } from './context.js';

export function Departments() {
  const { api } = useAdmin();
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  const load = async () => {
    try {
      setItems((await api.get('/departments')).departments);
      ready('admin-departments');
    } catch (e) {
      setError(problem(e));
    }
  };
  useLive([], load, []);
  const send = (call) => async (event) => {
    event.preventDefault();
    try {
      await call(new FormData(event.currentTarget));
      setError(null);
      event.currentTarget?.reset?.();
      await load();
    } catch (e) {
      setError(problem(e));
    }
  };
  if (!items) return <p class="hint">{error ?? at('loading')}</p>;
  return (
    <section class="card" data-testid="departments">
      <p class="hint">{at('departments_hint')}</p>
      <form class="action" onSubmit={send((f) => api.post('/departments', { code: f.get('code'), name: f.get('name') }))}>
        <input name="code" required pattern="[a-z][a-z0-9_\-]{0,29}" placeholder={at('department_code')} data-testid="department-code" />
        <input name="name" required placeholder={at('department_name')} data-testid="department-name" />
        <button data-testid="department-add">{at('department_add')}</button>
      </form>
      {error && <p class="error">{error}</p>}
      <table class="grid compact">
        <thead>
          <tr>
            <th>{at('department_code')}</th><th>{at('department_name')}</th><th>{at('department_former')}</th>
            <th>{at('department_accounts')}</th><th />
          </tr>
        </thead>
        <tbody>
          {items.map((d) => (
            <tr data-testid={`department-${d.code}`}>
              <td><code>{d.code}</code></td>
              <td>{d.name}</td>
              <td>{d.former_names.join('、')}</td>
              <td>{d.accounts.join('、')}</td>
              <td>
                <form class="inline" onSubmit={send((f) => api.patch(`/departments/${d.code}`, { name: f.get('name') }))}>
                  <input name="name" required placeholder={at('department_rename')} />
                  <button>{at('department_rename')}</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
