// Download a report as CSV (tests/browser_admin.rs): the reports page builds today's detail report
// and offers it as CSV, plain and with a byte-order mark for Excel; both downloads are saved for
// the Rust test to compare with `sluice report detail --csv`.
//
// Env: SLUICE_ADMIN_USER, SLUICE_ADMIN_PASSWORD, SLUICE_FROM_DAY, SLUICE_TO_DAY, SLUICE_CSV,
// SLUICE_CSV_BOM (where to save the downloads). Results: `shown` (the rows of the report's table),
// `names` (the downloads' file names).

import { scenario, env, step, check, result, submit, heading, cells } from './lib.mjs';

await scenario(async (t) => {
  const page = await t.signedIn();

  await t.open(page, '/reports');
  check((await heading(page)) === 'Reports', `reports page: ${await heading(page)}`);
  await t.checkPage(page, 'reports', 'the reports page');

  step('show the detail report');
  await page.locator('select[name="report"]').selectOption('detail');
  await page.locator('input[name="from"]').fill(env('SLUICE_FROM_DAY'));
  await page.locator('input[name="to"]').fill(env('SLUICE_TO_DAY'));
  await submit(page, 'Show');
  result(
    'shown',
    await cells(page, 'tbody tr'),
  );
  await t.checkPage(page, 'report-detail', 'the detail report');

  const names = [];
  for (const [link, file] of [
    ['Download CSV', env('SLUICE_CSV')],
    ['Download CSV for Excel (with BOM)', env('SLUICE_CSV_BOM')],
  ]) {
    step(`${link}`);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: link, exact: true }).click(),
    ]);
    check((await download.failure()) === null, `${link}: ${await download.failure()}`);
    await download.saveAs(file);
    names.push(download.suggestedFilename());
  }
  result('names', names);
  t.clean(page, 'the reports page after the downloads');
});
