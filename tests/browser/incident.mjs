// Open an incident and release its message (tests/browser_admin.rs): the incidents list shows the
// held message's incident; its page shows the findings in context with redacted evidence only
// (the matched value is nowhere in the page: not in its text, not in its markup); the Release
// button (confirmed) queues the held message for delivery, and the page says so.
//
// Env: SLUICE_ADMIN_USER, SLUICE_ADMIN_PASSWORD, SLUICE_SUBJECT (the held message's), SLUICE_SECRETS
// (a JSON array: the matched value in each spelling that must never appear).
// Results: `findings` (rule, detector, count, where, evidence), `metadata` (field/value pairs),
// `history` (when, who, action, result) after the release, `flash` (the note after it).

import { scenario, env, step, check, result, heading, openUntil, cells } from './lib.mjs';

await scenario(async (t) => {
  const subject = env('SLUICE_SUBJECT');
  const secrets = JSON.parse(env('SLUICE_SECRETS'));
  const page = await t.signedIn();
  const noSecret = async (label) => {
    const html = await page.content();
    const text = await page.evaluate(() => document.body.innerText);
    for (const s of secrets) {
      check(!html.includes(s) && !text.includes(s), `${label}: the matched value ${s} is in the page`);
    }
  };

  await openUntil(t, page, '/incidents', async (p) => (await p.getByRole('link', { name: subject }).count()) > 0, `the incident of "${subject}"`);
  check((await heading(page)) === 'Incidents', `incidents page: ${await heading(page)}`);
  await t.checkPage(page, 'incidents', 'the incidents list');
  await noSecret('the incidents list');

  step('open the incident');
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: subject }).click()]);
  check(/^Incident \d+$/.test(await heading(page)), `incident page: ${await heading(page)}`);
  result('metadata', await cells(page, 'table.kv tr'));
  result('findings', await cells(page, 'h2:text-is("Findings") + table tbody tr'));
  await noSecret('the incident page');
  await t.checkPage(page, 'incident', 'the incident page');

  step('release its held message');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Release', exact: true }).click()]);
  const flash = (await page.locator('.flash').first().textContent()).trim();
  result('flash', flash);
  result('history', await cells(page, 'h2:text-is("History") + table tbody tr'));
  check(
    (await page.getByRole('button', { name: 'Release', exact: true }).count()) === 0,
    'a released message offers no second release',
  );
  await noSecret('the incident page after the release');
  await t.checkPage(page, 'incident-released', 'the incident page after the release');
});
