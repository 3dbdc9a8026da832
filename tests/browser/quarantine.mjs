// The quarantine (tests/browser_admin.rs): searched by recipient, it lists that recipient's held
// messages only; a held message's page is a safe preview (its headers and text as text, its
// attachments listed, its HTML part converted to text, so that a remote image in it loads nothing:
// no request leaves for any other host); one message is released from its page, another deleted.
//
// Env: SLUICE_ADMIN_USER, SLUICE_ADMIN_PASSWORD, SLUICE_RCPT (the recipient searched),
// SLUICE_RELEASE_SUBJECT (the message previewed and released), SLUICE_DELETE_SUBJECT.
// Results: `found` (the rows the search shows), `headers`, `text` (the preview's sections),
// `attachments` (name, type, size), `elsewhere` (requests to any other origin), `images` (img
// elements in the page), `released`, `deleted` (the notes after each action).

import { scenario, env, step, check, result, heading, cells } from './lib.mjs';

await scenario(async (t) => {
  const page = await t.signedIn();
  const elsewhere = [];
  page.on('request', (r) => {
    if (new URL(r.url()).origin !== new URL(t.adminUrl).origin) elsewhere.push(r.url());
  });

  const search = async () => {
    await t.open(page, '/quarantine');
    step(`search by recipient ${env('SLUICE_RCPT')}`);
    await page.locator('input[name="recipient"]').fill(env('SLUICE_RCPT'));
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Search', exact: true }).click()]);
  };
  const open = async (subject) => {
    step(`open "${subject}"`);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: subject, exact: true }).click()]);
    check(/^Held message \d+$/.test(await heading(page)), `held message page: ${await heading(page)}`);
  };
  const act = async (button) => {
    step(`${button}`);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: button, exact: true }).click()]);
    return (await page.locator('.flash').allInnerTexts()).join(' | ');
  };

  await search();
  check((await heading(page)) === 'Quarantine', `quarantine page: ${await heading(page)}`);
  result('found', await cells(page, 'tbody tr'));
  await t.checkPage(page, 'quarantine-search', 'the quarantine searched by recipient');

  await open(env('SLUICE_RELEASE_SUBJECT'));
  await page.waitForLoadState('networkidle');
  result('headers', await page.locator('pre.headers').innerText());
  result('text', await page.locator('pre.preview:not(.headers)').innerText());
  result('attachments', await cells(page, 'h2:text-is("Attachments") + table tbody tr'));
  result('images', await page.locator('img, picture, video, audio, iframe, object, embed').count());
  result('elsewhere', [...elsewhere]);
  await t.checkPage(page, 'held-preview', 'the held message preview');

  result('released', await act('Release'));
  await t.checkPage(page, 'held-released', 'the held message after its release');

  await search();
  await open(env('SLUICE_DELETE_SUBJECT'));
  result('deleted', await act('Delete message'));
  await t.checkPage(page, 'held-deleted', 'the held message after its deletion');
  result('elsewhere', [...elsewhere]);
});
