// Hostile values render inert (tests/browser_security.rs): every page in SLUICE_PAGES is opened
// twice. First with the CSP bypassed, so that a missed escape would really run: no element or
// attribute created by injection, window.__xss never set, the hostile values shown literally as
// text where the page shows them, and no raw bidirectional control in the text. Then with the CSP
// in force: the page must log no CSP violation (a blocked injection would) and pass axe.
//
// Env: SLUICE_PAGES, a JSON array of { name, path, status?, literal? (default true), form? };
// `form` is { button, field? }: fill `field` (a label) with every hostile value, press `button`,
// and check the page that follows the same way. SLUICE_HOSTILE / SLUICE_HOSTILE_LITERAL: the values
// (tests/support/hostile.rs), all of them / those a page must show literally. With
// SLUICE_ADMIN_USER and SLUICE_ADMIN_PASSWORD set, both contexts sign in first (the admin pages).

import { scenario, env, step, hostileValues } from './lib.mjs';

const pages = JSON.parse(env('SLUICE_PAGES'));
const literal = JSON.parse(env('SLUICE_HOSTILE_LITERAL'));

await scenario(async (t) => {
  const enforced = await t.context();
  const bypass = await t.context({ bypassCSP: true });
  const withCsp = await t.page(enforced);
  const noCsp = await t.page(bypass);
  if (process.env.SLUICE_ADMIN_USER) {
    await t.logIn(withCsp);
    await t.logIn(noCsp);
  }
  for (const p of pages) {
    const label = `${p.name} (${p.path.replace(/\/approval\/[^/?#]+/, '/approval/TOKEN')})`;
    step(`check ${label} with the CSP bypassed`);
    await t.open(noCsp, p.path, p.status ?? 200);
    await t.noInjection(noCsp, label);
    if (p.literal ?? true) await t.showsLiterally(noCsp, literal, label);
    await t.noBidiControls(noCsp, label);

    step(`check ${label} with the CSP in force`);
    await t.open(withCsp, p.path, p.status ?? 200);
    await t.screenshot(withCsp, p.name);
    t.clean(withCsp, label);
    await t.axe(withCsp, label);

    if (p.form) {
      step(`submit ${label} with hostile values in its fields`);
      if (p.form.field) await noCsp.getByLabel(p.form.field).fill(hostileValues().join('\n'));
      await Promise.all([
        noCsp.waitForNavigation(),
        noCsp.getByRole('button', { name: p.form.button }).click(),
      ]);
      await t.screenshot(noCsp, `${p.name}-submitted`);
      await t.noInjection(noCsp, `${label} after submitting`);
      await t.axe(noCsp, `${label} after submitting`);
    }
  }
  // Nothing that ran in either context set the marker or opened an alert (the payloads'
  // `alert(1)`; the pages' own confirmations are `confirm` dialogs).
  for (const page of [withCsp, noCsp]) {
    const xss = await page.evaluate(() => window.__xss);
    if (xss !== undefined) throw new Error(`window.__xss = ${xss}`);
    const alerts = page.seen.dialogs.filter((d) => !d.startsWith('confirm:'));
    if (alerts.length > 0) throw new Error(`a payload opened a dialog: ${alerts.join(' | ')}`);
  }
});
