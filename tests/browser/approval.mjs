// The approval pages (tests/browser_approval.rs): approve with JavaScript, reject without it, the
// pages' own CSP never tripped while inline script put into them is blocked, axe on each page.
//
// Env: SLUICE_APPROVE_URL / SLUICE_APPROVE_SUBJECT (a pending approval's approve link and its
// message's subject), SLUICE_REJECT_URL / SLUICE_REJECT_SUBJECT (another one's reject link).
// Result: csp_probe_ran (whether script injected into a page ran; must be false).

import { scenario, env, step, check, result } from './lib.mjs';

async function heading(page) {
  return (await page.locator('h1').textContent()).trim();
}

await scenario(async (t) => {
  const ctx = await t.context();
  const page = await t.page(ctx);

  // The approve link: the held message, then the form.
  await t.open(page, env('SLUICE_APPROVE_URL'));
  check((await heading(page)) === 'Approve this held message?', `heading: ${await heading(page)}`);
  const subject = env('SLUICE_APPROVE_SUBJECT');
  check(
    (await page.locator('th:text-is("Subject") + td').textContent()).trim() === subject,
    'the subject of the held message is shown',
  );
  check(
    (await page.getByText('Customer lists need a manager').count()) === 1,
    'the policy that held it is named',
  );
  await t.screenshot(page, 'approve-form');
  await t.axe(page, 'the approve form');
  t.clean(page, 'the approve form');

  step('approve with a comment');
  await page.getByLabel(/Comment/).fill('looks fine from the browser');
  await Promise.all([
    page.waitForNavigation(),
    page.getByRole('button', { name: 'Approve and deliver' }).click(),
  ]);
  check((await heading(page)) === 'Approved', `after approving: ${await heading(page)}`);
  check((await page.getByText('Approved by').count()) === 1, 'who approved is shown');
  await t.screenshot(page, 'approved');
  await t.axe(page, 'the decision page');
  t.clean(page, 'the decision page');

  // The same link again: already decided, nothing to submit.
  await t.open(page, env('SLUICE_APPROVE_URL'));
  check((await heading(page)) === 'Already decided', `second visit: ${await heading(page)}`);
  check((await page.locator('form').count()) === 0, 'no form on a decided approval');
  await t.screenshot(page, 'already-decided');
  await t.axe(page, 'the already-decided page');
  t.clean(page, 'the already-decided page');

  // A broken link.
  await t.open(page, '/approval/not-a-token', 400);
  check((await heading(page)) === 'This link is not valid', `bad link: ${await heading(page)}`);
  await t.screenshot(page, 'bad-link');
  await t.axe(page, 'the bad-link page');
  t.clean(page, 'the bad-link page');

  // The CSP blocks script put into one of our pages: an inline script element and an inline
  // event handler, each of which would set window.__cspProbe.
  step('inject inline script into the page; the CSP must block it');
  const violation = page.waitForEvent('console', {
    predicate: (m) => /Content Security Policy/i.test(m.text()),
    timeout: 5000,
  });
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__cspProbe = 1';
    document.body.appendChild(s);
    const d = document.createElement('div');
    d.innerHTML = '<img alt="" src="x" onerror="window.__cspProbe = 2">';
    document.body.appendChild(d);
  });
  await violation;
  const ran = await page.evaluate(() => window.__cspProbe !== undefined);
  result('csp_probe_ran', ran);
  check(!ran, `injected inline script ran (window.__cspProbe = ${await page.evaluate(() => window.__cspProbe)})`);
  check(page.seen.csp.length > 0, 'the CSP violation was reported');

  // Without JavaScript: the reject link's form still works.
  const noJs = await t.context({ javaScriptEnabled: false });
  const plain = await t.page(noJs);
  await t.open(plain, env('SLUICE_REJECT_URL'));
  check((await heading(plain)) === 'Reject this held message?', `heading: ${await heading(plain)}`);
  check(
    (await plain.locator('th:text-is("Subject") + td').textContent()).trim() ===
      env('SLUICE_REJECT_SUBJECT'),
    'the subject of the held message is shown without JavaScript',
  );
  await t.screenshot(plain, 'reject-form-no-js');
  step('reject with JavaScript off');
  await Promise.all([
    plain.waitForNavigation(),
    plain.getByRole('button', { name: 'Reject and delete' }).click(),
  ]);
  check((await heading(plain)) === 'Rejected', `after rejecting: ${await heading(plain)}`);
  await t.screenshot(plain, 'rejected-no-js');
  t.clean(plain, 'the pages without JavaScript');
});
