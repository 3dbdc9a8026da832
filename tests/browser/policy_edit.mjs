// Edit a policy, test it against an .eml, save it (tests/browser_admin.rs): the policy list opens
// the policy's form editor; its action, severity, reply, keywords and identifiers are changed and
// saved; the
// editor then tests the saved policy against an uploaded .eml and shows what would happen (the
// outcome, the policy that matched and why, the findings).
//
// Env: SLUICE_ADMIN_USER, SLUICE_ADMIN_PASSWORD, SLUICE_POLICY (its name), SLUICE_ACTION,
// SLUICE_SEVERITY, SLUICE_REPLY, SLUICE_KEYWORDS, SLUICE_IDENTIFIERS (one per line), SLUICE_EML
// (a file's path).
// Results: `saved` (the note after saving), `outcome` (the test's outcome line), `violations`
// (policy, severity, action, rules, why), `findings` (type, evidence, where, detector, confidence).

import { scenario, env, step, check, result, heading, cells } from './lib.mjs';

await scenario(async (t) => {
  const name = env('SLUICE_POLICY');
  const page = await t.signedIn();

  await t.open(page, '/policies');
  check((await heading(page)) === 'Policies', `policies page: ${await heading(page)}`);
  await t.checkPage(page, 'policies', 'the policy list');

  step(`open ${name}`);
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name, exact: true }).click()]);
  check((await heading(page)) === `Policy: ${name}`, `editor: ${await heading(page)}`);
  await t.checkPage(page, 'policy-editor', 'the policy editor');

  step('change it in the form editor and save');
  const form = page.locator('form[action="/policies/save-form"]');
  await form.getByLabel('Action', { exact: true }).selectOption(env('SLUICE_ACTION'));
  await form.getByLabel('Severity', { exact: true }).selectOption(env('SLUICE_SEVERITY'));
  await form.getByLabel('Reply when blocked').fill(env('SLUICE_REPLY'));
  await form.getByLabel('Keywords and phrases, one per line').fill(env('SLUICE_KEYWORDS'));
  await form.getByLabel('Data identifiers, one per line').fill(env('SLUICE_IDENTIFIERS'));
  await Promise.all([page.waitForNavigation(), form.getByRole('button', { name: 'Save' }).click()]);
  const saved = page.locator('.flash').first();
  check((await saved.count()) === 1, `no note after saving (${page.url()})`);
  result('saved', (await saved.innerText()).trim());
  await t.checkPage(page, 'policy-saved', 'the editor after saving');

  step('test it against the .eml');
  await page.locator('#eml').setInputFiles(env('SLUICE_EML'));
  await Promise.all([
    page.waitForNavigation(),
    page.getByRole('button', { name: 'Test against the .eml' }).click(),
  ]);
  const probe = page.getByRole('region', { name: 'Test result' });
  check((await probe.count()) === 1, `no test result (${page.url()})`);
  result('outcome', (await probe.locator('p').first().innerText()).trim());
  result('violations', await cells(probe, 'h2 + p + table tbody tr'));
  result('findings', await cells(probe, 'h3:text-is("Findings") + table tbody tr'));
  await t.checkPage(page, 'policy-tested', 'the test result');
});
