// What someone not signed in sees (tests/browser_admin.rs): the dashboard sends them to the
// log-in page with the way back; an unknown address gets the error page, whose stylesheet and
// script load under the CSP (no inline style or script anywhere); both pages pass axe; another
// site cannot frame the UI.

import { scenario, step, check } from './lib.mjs';

await scenario(async (t) => {
  const ctx = await t.context();
  const page = await t.page(ctx);

  step('open / signed out');
  await page.goto(t.adminUrl + '/', { waitUntil: 'load' });
  const url = new URL(page.url());
  check(url.pathname === '/login', `signed out, / leads to ${url.pathname}, not /login`);
  check(url.searchParams.get('next') === '/', `the way back: next=${url.searchParams.get('next')}`);
  await t.screenshot(page, 'login-redirect');
  await t.axe(page, 'the page / leads to');
  t.clean(page, 'the page / leads to');

  await t.open(page, '/no-such-page', 404);
  check(
    (await page.locator('h1').textContent()).trim() === 'Not found',
    'the 404 page says so',
  );
  // The embedded assets arrived (status 200) and app.css applies.
  const assets = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .map((e) => ({ path: new URL(e.name).pathname, status: e.responseStatus })),
  );
  for (const want of ['/assets/app.css', '/assets/app.js']) {
    const got = assets.find((a) => a.path === want);
    check(got && got.status === 200, `${want} was not loaded: ${JSON.stringify(assets)}`);
  }
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(bg === 'rgb(244, 245, 247)', `app.css does not apply (body background ${bg})`);
  check(page.seen.failed.length === 0, `failed requests: ${page.seen.failed.join(', ')}`);
  await t.screenshot(page, 'not-found');
  await t.axe(page, 'the 404 page');
  t.clean(page, 'the 404 page');
  await t.noInjection(page, 'the 404 page');

  // Another site cannot frame the admin UI (clickjacking): chromium refuses to render it.
  step('frame an admin page from another origin');
  const framer = await t.page(ctx);
  // setContent returns after the load event, which waits for the iframe (refused or not).
  await framer.setContent(
    `<!doctype html><title>framer</title><iframe title="admin" src="${t.adminUrl}/no-such-page"></iframe>`,
  );
  const framed = framer.frames().find((f) => f !== framer.mainFrame());
  const inside = framed ? await framed.evaluate(() => document.body?.innerText ?? '').catch(() => '') : '';
  check(
    !inside.includes('There is no page at this address'),
    `the admin page rendered inside another site's frame (${framed?.url()})`,
  );
  check(
    framer.seen.console.some((m) => /frame-ancestors|X-Frame-Options/i.test(m)),
    `chromium did not say why the frame was refused: ${framer.seen.console.join(' | ')}`,
  );
});
