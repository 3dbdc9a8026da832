// Find a message in tracking and follow its life (tests/browser_admin.rs): the tracking form finds
// the message by its sender, by its recipient and by a word of its subject; its row opens the
// message's trail: its facts and the events that make its life (accepted, the policies it met,
// relayed). Every page visited gets the usual checks.
//
// Env: SLUICE_ADMIN_USER, SLUICE_ADMIN_PASSWORD, SLUICE_FROM, SLUICE_TO, SLUICE_SUBJECT_WORD.
// Results: `by_sender`, `by_recipient`, `by_subject` (the rows each search shows: time, from, to,
// subject, client, outcome, size, policies), `facts` (the trail's field/value pairs), `events`
// (the trail's rows: time, event, details).

import { scenario, env, step, check, result, submit, heading, openUntil, cells } from './lib.mjs';

await scenario(async (t) => {
  const from = env('SLUICE_FROM');
  const to = env('SLUICE_TO');
  const word = env('SLUICE_SUBJECT_WORD');
  const page = await t.signedIn();

  await t.open(page, '/tracking');
  check((await heading(page)) === 'Message tracking', `tracking page: ${await heading(page)}`);
  await t.checkPage(page, 'tracking', 'the tracking page');

  // The events reach the tracking index a moment after the mail: wait for the row to appear,
  // then search through the form as a person would.
  await openUntil(t, page, '/tracking', async (p) => (await p.locator('tbody tr').count()) >= 2, 'both messages');

  const search = async (label, value, name) => {
    step(`search by ${label.toLowerCase()}: ${value}`);
    await t.open(page, '/tracking');
    await page.getByLabel(label).fill(value);
    await submit(page, 'Search');
    const asked = [...new URL(page.url()).searchParams.values()];
    check(asked.includes(value), `the search is in the address: ${page.url()}`);
    const found = await cells(page, 'tbody tr');
    result(name, found);
    await t.checkPage(page, name.replace('_', '-'), `tracking searched by ${label.toLowerCase()}`);
    return found;
  };
  await search('Sender', from, 'by_sender');
  await search('Recipient', to, 'by_recipient');
  const rows = await search('Subject contains', word, 'by_subject');
  check(rows.length === 1, `one message has "${word}" in its subject: ${JSON.stringify(rows)}`);

  step("open the message's trail from its row");
  await Promise.all([page.waitForNavigation(), page.locator('tbody tr a').first().click()]);
  check((await heading(page)) === 'Message trail', `trail page: ${await heading(page)}`);
  // The relay is recorded a moment after the acceptance: reload until it is there.
  await openUntil(t, page, new URL(page.url()).pathname, async (p) => (await p.getByText('message.relayed').count()) > 0, 'message.relayed');
  result('facts', await cells(page, 'table.kv tr'));
  result('events', await cells(page, 'table:not(.kv) tbody tr'));
  await t.checkPage(page, 'trail', 'the message trail');
});
