// Add a user, see it in the audit log (tests/browser_admin.rs): an administrator adds a
// remediator on the Users page; the new account is listed with its role; the audit log, filtered
// by action, lists the change with who made it, when and what.
//
// Env: SLUICE_ADMIN_USER, SLUICE_ADMIN_PASSWORD (an administrator), SLUICE_NEW_USER,
// SLUICE_NEW_PASSWORD. Results: `users_rows` (name, role, state, last logon of each account),
// `audit_rows` (each row the filter shows: time, actor, from, action, object, before, after,
// outcome).

import { scenario, env, step, check, result, submit, heading, cells } from './lib.mjs';

await scenario(async (t) => {
  const name = env('SLUICE_NEW_USER');
  const password = env('SLUICE_NEW_PASSWORD');
  const page = await t.signedIn();

  await t.open(page, '/users');
  check((await heading(page)) === 'Users', `users page: ${await heading(page)}`);
  await t.checkPage(page, 'users', 'the users page');

  step(`add ${name} as a remediator`);
  const add = page.locator('form[action="/users"]');
  await add.getByLabel('Name').fill(name);
  await add.getByLabel('Role').selectOption('remediator');
  await add.getByLabel('Password').fill(password);
  await add.getByLabel('Again').fill(password);
  await Promise.all([page.waitForNavigation(), add.getByRole('button', { name: 'Add' }).click()]);
  check(new URL(page.url()).pathname === '/users', `after adding: ${page.url()}`);
  result('users_rows', (await cells(page, 'tbody tr')).map((r) => r.slice(0, 4)));
  await t.checkPage(page, 'users-added', 'the users page after adding');

  step('the audit log lists the change');
  await t.open(page, '/audit');
  await t.checkPage(page, 'audit', 'the audit log');
  await page.getByLabel('Action').fill('user.add');
  await submit(page, 'Filter');
  const rows = await cells(page, 'tbody tr');
  result('audit_rows', rows);
  await t.checkPage(page, 'audit-user-add', 'the audit log filtered by action');
});
