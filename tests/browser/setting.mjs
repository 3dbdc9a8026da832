// Change a setting and see it applied (tests/browser_admin.rs): the settings group holding the key
// shows its value in force; a new value is saved (checked whole, written, applied by a reload: the
// page says so); the configuration history lists the change, and its version's page shows the
// diff.
//
// Env: SLUICE_ADMIN_USER, SLUICE_ADMIN_PASSWORD, SLUICE_GROUP (a settings group), SLUICE_KEY (its
// label: the key's path), SLUICE_VALUE. Results: `before` (the value shown first), `note` (after
// saving), `versions` (version, when, who, what), `diff` (the newest version's diff lines).

import { scenario, env, step, check, result, submit, heading, cells } from './lib.mjs';

await scenario(async (t) => {
  const key = env('SLUICE_KEY');
  const page = await t.signedIn();

  await t.open(page, `/settings?group=${env('SLUICE_GROUP')}`);
  check((await heading(page)) === 'Settings', `settings page: ${await heading(page)}`);
  await t.checkPage(page, 'settings', 'the settings group');
  const field = page.getByLabel(key, { exact: true });
  result('before', await field.inputValue());

  step(`set ${key} to ${env('SLUICE_VALUE')} and save`);
  await field.fill(env('SLUICE_VALUE'));
  await submit(page, 'Save');
  result('note', (await page.locator('.flash').allInnerTexts()).join(' | '));
  check((await page.getByLabel(key, { exact: true }).inputValue()) === env('SLUICE_VALUE'), 'the new value is shown');
  await t.checkPage(page, 'settings-saved', 'the settings group after saving');

  step('the configuration history lists the change');
  await t.open(page, '/config/history');
  await t.checkPage(page, 'history', 'the configuration history');
  const versions = await cells(page, 'tbody tr');
  result('versions', versions);
  check(versions.length > 0, 'no version listed');

  step('open the newest version');
  await Promise.all([page.waitForNavigation(), page.locator('tbody tr a').first().click()]);
  result('diff', await page.locator('pre.diff span').allInnerTexts());
  await t.checkPage(page, 'version', 'the version and its diff');
});
