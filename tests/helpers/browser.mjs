// Headless browsers for the browser tests, both engines, never a downloaded
// browser: Debian's /usr/bin/chromium driven by playwright-core, and Debian's
// /usr/bin/firefox-esr driven by puppeteer-core over WebDriver BiDi. Each is
// installed when missing only when asked to (CI=true, GF_INSTALL=1 or npm run
// setup); otherwise the test fails with the command to run.
//
// launchChromium() and launchFirefox() return the same shape, { engine,
// context, profile, close }, and context.newPage() a page with the same
// methods (playwright's names; Firefox's puppeteer pages are adapted below),
// so a test body can be written once and run in either engine.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHROMIUM = '/usr/bin/chromium';
const FIREFOX = '/usr/bin/firefox-esr';

/** The path of a Debian package's executable; installs the package with apt-get only when asked (CI, GF_INSTALL=1). */
function ensureDebianBrowser(executable, pkg, name) {
  if (existsSync(executable)) return executable;
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  const asked = process.env.CI === 'true' || process.env.GF_INSTALL === '1';
  if (asked) {
    const run = (args) => execFileSync(sudo ? 'sudo' : args[0], sudo ? args : args.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    // test files run in parallel on machines with more cores: one waits for another's apt-get instead of failing
    const wait = ['-o', 'DPkg::Lock::Timeout=600'];
    run(['apt-get', ...wait, 'update', '-qq']);
    run(['apt-get', ...wait, 'install', '-y', '-qq', pkg]);
    if (existsSync(executable)) return executable;
  }
  throw new Error(
    `${name} is missing: install it with "${sudo}apt-get install -y ${pkg}"` + (asked ? '' : ' (or run the tests with GF_INSTALL=1, or npm run setup, to let them do it)'),
  );
}

export function ensureChromium() {
  return ensureDebianBrowser(CHROMIUM, 'chromium', 'Chromium');
}

export function ensureFirefox() {
  return ensureDebianBrowser(FIREFOX, 'firefox-esr', 'Firefox');
}

/** Launches a fresh headless Chromium (extraArgs after the usual flags); close() also removes its profile. */
export async function launchChromium(extraArgs = []) {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'greenformer-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: ensureChromium(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', ...extraArgs],
  });
  return {
    engine: 'chromium',
    context,
    profile, // the --user-data-dir, which names this Chromium's processes (bench/lib/procmem.mjs)
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Launches a fresh headless Firefox (Debian's firefox-esr, puppeteer-core over WebDriver BiDi) with a
 * profile of its own (extraPrefs on top of puppeteer's test preferences); close() also removes the profile.
 * context.newPage() gives pages with the playwright methods the browser tests use (see adaptPage).
 */
export async function launchFirefox(extraPrefs = {}) {
  const { default: puppeteer } = await import('puppeteer-core');
  const profile = mkdtempSync(join(tmpdir(), 'greenformer-firefox-'));
  let browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath: ensureFirefox(),
      headless: true,
      userDataDir: profile,
      extraPrefsFirefox: extraPrefs,
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  return {
    engine: 'firefox',
    context: { newPage: async () => adaptPage(await browser.newPage()) },
    profile,
    browser, // puppeteer's Browser, for what the adapter does not cover
    close: async () => {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Launches engine ('chromium' or 'firefox') with its extra arguments (Chromium) or preferences (Firefox). */
export function launchBrowser(engine, extra) {
  if (engine === 'chromium') return launchChromium(extra);
  if (engine === 'firefox') return launchFirefox(extra);
  throw new Error(`unknown browser engine ${engine}`);
}

/**
 * A puppeteer page with the subset of playwright's Page that the browser tests call, with playwright's
 * signatures and defaults: evaluate(fn, arg), waitForFunction(fn, arg, { timeout }), waitForSelector (visible),
 * textContent, getAttribute, fill, click, check, setViewportSize, screenshot, goto, reload, close, on.
 * The puppeteer page itself is .puppeteer.
 */
function adaptPage(page) {
  return {
    puppeteer: page,
    goto: (url, options) => page.goto(url, options),
    reload: (options) => page.reload(options),
    close: () => page.close(),
    on: (event, listener) => page.on(event, listener),
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    waitForFunction: (fn, arg, { timeout = 30_000 } = {}) => page.waitForFunction(fn, { timeout }, arg),
    waitForSelector: (selector, { timeout = 30_000 } = {}) => page.waitForSelector(selector, { timeout, visible: true }),
    textContent: (selector) => page.$eval(selector, (e) => e.textContent),
    getAttribute: (selector, name) => page.$eval(selector, (e, name) => e.getAttribute(name), name),
    // playwright's fill: focus, replace the value, fire input (and change) events
    fill: (selector, value) =>
      page.$eval(
        selector,
        (e, value) => {
          e.focus();
          e.value = value;
          e.dispatchEvent(new Event('input', { bubbles: true }));
          e.dispatchEvent(new Event('change', { bubbles: true }));
        },
        value,
      ),
    click: (selector) => page.click(selector),
    check: async (selector) => {
      if (!(await page.$eval(selector, (e) => e.checked))) await page.click(selector);
    },
    setViewportSize: ({ width, height }) => page.setViewport({ width, height }),
    screenshot: (options) => page.screenshot(options),
  };
}

/** Opens the demo page (without loading its default model) and waits for window.greenformer. */
export async function openDemo(context, baseUrl, query = 'autoload=0') {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${baseUrl}/demo/?${query}`);
  await page.waitForFunction(() => window.greenformer && window.demo);
  page.errors = errors;
  return page;
}
