// The browser side of the real-browser tests (tests/support/browser.rs starts these scripts).
//
// A scenario is `scenario(async (t) => { ... })`: one headless chromium (Debian's, at
// SLUICE_CHROMIUM; playwright-core never downloads a browser) for the whole script, pages in
// contexts that accept Sluice's self-signed certificate, and helpers that check what every admin
// page must satisfy: no violation of its Content-Security-Policy, no serious or critical axe-core
// finding, nothing created by injected markup. Every page visited is screenshotted.
//
// Protocol with the Rust side: one JSON object per stdout line. `{"step": ...}` says what is being
// done, `{"screenshot": PATH}` names a file written, `{"result": NAME, "value": ...}` hands a value
// back for the Rust test to check, and the last line is `{"ok": true}` or
// `{"ok": false, "error": MESSAGE}` (the exit status says the same). Anything on stderr is shown
// when the test fails.
//
// Environment (set by the harness): SLUICE_BROWSER_DIR (where `npm ci` put node_modules),
// SLUICE_CHROMIUM, SLUICE_ADMIN_URL (https://127.0.0.1:PORT), SLUICE_UI_SCREENSHOTS (a directory),
// SLUICE_SCENARIO (a name prefixed to screenshots), and whatever the scenario itself reads.

import { createRequire } from 'node:module';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** A required environment variable. */
export function env(name) {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`the harness did not set ${name}`);
  return v;
}

const modules = join(env('SLUICE_BROWSER_DIR'), 'node_modules');
// The modules live under the target dir, not beside the scripts, so ESM resolution from here
// would not find them: load them from their directory.
const require = createRequire(join(modules, 'package.json'));
const { chromium } = require('playwright-core');
const AXE_SOURCE = readFileSync(join(modules, 'axe-core', 'axe.min.js'), 'utf8');

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** Says what the scenario is doing (shown when the test fails). */
export function step(text) {
  emit({ step: text });
}

/** Hands a value back to the Rust test. */
export function result(name, value) {
  emit({ result: name, value });
}

/** Fails the scenario with `message` unless `cond`. */
export function check(cond, message) {
  if (!cond) throw new Error(message);
}

/** How long one browser action may wait (a page, a selector, a navigation). */
const ACTION_TIMEOUT_MS = 15_000;

/** One browser for the whole scenario, and what has been seen on its pages. */
export class Test {
  constructor(browser) {
    this.browser = browser;
    this.adminUrl = env('SLUICE_ADMIN_URL').replace(/\/$/, '');
    this.shots = env('SLUICE_UI_SCREENSHOTS');
    this.name = process.env.SLUICE_SCENARIO || 'scenario';
    mkdirSync(this.shots, { recursive: true });
    this.contexts = [];
    this.pages = [];
  }

  /**
   * A browser context (cookies, cache) that accepts the self-signed certificate. Options are
   * playwright's: e.g. `{ javaScriptEnabled: false }`, or `{ bypassCSP: true }` so that a missed
   * escape would actually run instead of being stopped by the CSP (the injection checks use it:
   * the CSP is a second line, the escaping must hold on its own).
   */
  async context(options = {}) {
    const ctx = await this.browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 900 },
      ...options,
    });
    ctx.setDefaultTimeout(ACTION_TIMEOUT_MS);
    ctx.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
    this.contexts.push(ctx);
    return ctx;
  }

  /**
   * A new page in `ctx` that records its console errors, CSP violations, uncaught errors, failed
   * requests and dialogs (`page.seen`).
   */
  async page(ctx) {
    const page = await ctx.newPage();
    const seen = { console: [], csp: [], errors: [], failed: [], dialogs: [] };
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') {
        const text = m.text();
        seen.console.push(text);
        if (/Content Security Policy/i.test(text)) seen.csp.push(text);
      }
    });
    page.on('pageerror', (e) => seen.errors.push(String(e)));
    page.on('requestfailed', (r) => seen.failed.push(`${r.url()}: ${r.failure()?.errorText}`));
    // Confirmation prompts (`data-confirm` in app.js) are accepted, as a user going ahead would.
    page.on('dialog', async (d) => {
      step(`accept the ${d.type()} "${d.message()}"`);
      seen.dialogs.push(`${d.type()}: ${d.message()}`);
      await d.accept();
    });
    page.seen = seen;
    this.pages.push(page);
    return page;
  }

  /** Opens `path` (relative to the admin URL, or absolute); fails unless the status is `status`. */
  async open(page, path, status = 200) {
    const url = path.startsWith('http') ? path : this.adminUrl + path;
    step(`open ${url.replace(/\/approval\/[^/?#]+/, '/approval/TOKEN')}`);
    const r = await page.goto(url, { waitUntil: 'load' });
    check(r, `no response for ${path}`);
    check(r.status() === status, `${path}: status ${r.status()}, expected ${status}`);
    return r;
  }

  /** A full-page screenshot to SLUICE_UI_SCREENSHOTS/<scenario>-<name>.png. */
  async screenshot(page, name) {
    const path = join(this.shots, `${this.name}-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    emit({ screenshot: path });
    return path;
  }

  /**
   * The checks every admin page gets, in one call: a screenshot named `name`, no CSP violation or
   * page error, no serious axe finding, nothing created by injected markup.
   */
  async checkPage(page, name, label) {
    await this.screenshot(page, name);
    this.clean(page, label);
    await this.axe(page, label);
    await this.noInjection(page, label);
  }

  /**
   * Signs `page` in at /login (SLUICE_ADMIN_USER / SLUICE_ADMIN_PASSWORD unless given): its
   * context then holds the session; the page is left on the dashboard.
   */
  async logIn(page, user = env('SLUICE_ADMIN_USER'), password = env('SLUICE_ADMIN_PASSWORD')) {
    await this.open(page, '/login');
    step(`log in as ${user}`);
    await page.getByLabel('User name').fill(user);
    await page.getByLabel('Password').fill(password);
    await submit(page, 'Log in');
    const h1 = await heading(page);
    check(h1 === 'Dashboard', `after logging in as ${user}: ${h1} (${page.url()})`);
  }

  /** A page in a new context, signed in as [`logIn`] does. */
  async signedIn(user, password) {
    const page = await this.page(await this.context());
    await this.logIn(page, user, password);
    return page;
  }

  /**
   * Runs axe-core in the page and fails on any serious or critical violation, listing each (rule,
   * impact, help, the elements). axe is evaluated through the DevTools protocol, which the page's
   * CSP does not govern, so the pages need not allow any script for it.
   */
  async axe(page, label) {
    await page.evaluate(AXE_SOURCE);
    const res = await page.evaluate(() =>
      globalThis.axe.run(document, { resultTypes: ['violations'] }),
    );
    const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    const minor = res.violations.length - bad.length;
    step(`axe on ${label}: ${bad.length} serious/critical, ${minor} minor/moderate`);
    check(
      bad.length === 0,
      `axe-core on ${label}: ${bad.length} serious or critical violation(s):\n` +
        bad
          .map(
            (v) =>
              `  - ${v.id} (${v.impact}): ${v.help} [${v.helpUrl}]\n` +
              v.nodes.map((n) => `      at ${n.target.join(' ')}: ${n.failureSummary}`).join('\n'),
          )
          .join('\n'),
    );
  }

  /** Fails if the page logged a CSP violation or threw (our own pages must not trip their CSP). */
  clean(page, label) {
    const { csp, errors } = page.seen;
    check(csp.length === 0, `${label}: CSP violations logged:\n  ${csp.join('\n  ')}`);
    check(errors.length === 0, `${label}: page errors:\n  ${errors.join('\n  ')}`);
  }

  /**
   * Fails if anything in the page was created by injected markup: an event-handler attribute, a
   * `javascript:` URL, a script that is not one of ours (same-origin `src`, no inline text), an
   * iframe/object/embed/base, a meta refresh, an `img[src=x]` (the payloads' marker), or
   * `window.__xss` set (the payloads set it when they run). Use it on every page showing hostile
   * values, preferably in a `bypassCSP` context.
   */
  async noInjection(page, label) {
    const found = await page.evaluate(() => {
      const bad = [];
      const urlAttrs = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster'];
      for (const el of document.querySelectorAll('*')) {
        for (const a of el.attributes) {
          const n = a.name.toLowerCase();
          if (n.startsWith('on')) bad.push(`<${el.localName} ${a.name}="${a.value}">`);
          if (urlAttrs.includes(n) && /^\s*(javascript|vbscript|data):/i.test(a.value)) {
            bad.push(`<${el.localName} ${a.name}="${a.value}">`);
          }
        }
      }
      for (const s of document.querySelectorAll('script')) {
        const src = s.getAttribute('src') || s.getAttribute('href') || '';
        const text = s.textContent || '';
        const ours = src && new URL(src, location.href).origin === location.origin && !text.trim();
        if (!ours) bad.push(`<${s.localName} src="${src}">${text.slice(0, 80)}</script>`);
      }
      for (const sel of ['iframe', 'frame', 'object', 'embed', 'base', 'meta[http-equiv]', 'img[src="x"]', 'svg script']) {
        for (const el of document.querySelectorAll(sel)) bad.push(el.outerHTML.slice(0, 120));
      }
      if (window.__xss !== undefined) bad.push(`window.__xss = ${String(window.__xss)}`);
      return bad;
    });
    check(found.length === 0, `${label}: injected markup in the page:\n  ${found.join('\n  ')}`);
  }

  /**
   * Fails if the page's text holds a bidirectional override, embedding or isolate (U+202A..U+202E,
   * U+2066..U+2069): from a message, one reorders what follows on screen, so that
   * `invoice<U+202E>fdp.exe` shows as `invoiceexe.pdf`. Pages must show such characters visibly.
   */
  async noBidiControls(page, label) {
    const found = await page.evaluate(() =>
      [...document.body.innerText.matchAll(/[\u202A-\u202E\u2066-\u2069]/g)].map(
        (m) => `U+${m[0].codePointAt(0).toString(16).toUpperCase()} in "${m.input.slice(Math.max(0, m.index - 20), m.index + 20)}"`,
      ),
    );
    check(found.length === 0, `${label}: bidirectional controls shown raw:\n  ${found.join('\n  ')}`);
  }

  /** Fails unless the page's visible text shows each of `values` literally (rendered as text). */
  async showsLiterally(page, values, label) {
    const text = await page.evaluate(() => document.body.innerText);
    const missing = values.filter((v) => !text.includes(v));
    check(
      missing.length === 0,
      `${label}: not shown as text: ${missing.map((v) => JSON.stringify(v)).join(', ')}`,
    );
  }
}

/** Presses the button named `button` (a form's submit) and waits for the page that follows. */
export async function submit(page, button) {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: button }).click()]);
}

/** The first `h1`'s text. */
export async function heading(page) {
  return (await page.locator('h1').first().textContent()).trim();
}

/** The text of each cell of the table rows `sel` matches in `root` (a page or a locator). */
export function cells(root, sel) {
  return root
    .locator(sel)
    .evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText.trim())));
}

/**
 * Opens `path` again and again (the event outbox reaches the search indexes a moment after the
 * mail is handled) until `ready(page)` holds; fails after `tries` visits.
 */
export async function openUntil(t, page, path, ready, what, tries = 40) {
  for (let i = 0; i < tries; i++) {
    await t.open(page, path);
    if (await ready(page)) return;
    await page.waitForTimeout(250);
  }
  throw new Error(`${path}: never showed ${what}`);
}

/** The hostile values from tests/support/hostile.rs (passed as JSON in SLUICE_HOSTILE). */
export function hostileValues() {
  return JSON.parse(env('SLUICE_HOSTILE'));
}

/**
 * Runs `body(t)` with one headless chromium, then closes it; reports the outcome as the last JSON
 * line and through the exit status.
 */
export async function scenario(body) {
  let browser;
  let test;
  try {
    browser = await chromium.launch({
      executablePath: env('SLUICE_CHROMIUM'),
      headless: true,
      // Chromium's sandbox refuses to start as root (CI runs the tests as root in a throwaway
      // machine); as any other user it stays on.
      chromiumSandbox: process.getuid?.() !== 0,
      // /dev/shm is small in some containers; chromium then crashes rendering large pages.
      args: ['--disable-dev-shm-usage'],
      timeout: 30_000,
    });
    test = new Test(browser);
    await body(test);
    emit({ ok: true });
  } catch (e) {
    // What each page showed when it failed, for the review.
    for (const [i, page] of (test?.pages ?? []).entries()) {
      if (page.isClosed()) continue;
      await test.screenshot(page, `FAILED-${i}`).catch(() => {});
    }
    emit({ ok: false, error: e && e.stack ? e.stack : String(e) });
    process.exitCode = 1;
  } finally {
    if (browser) await browser.close().catch(() => {});
  }
}
