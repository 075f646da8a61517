// Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven
// by playwright-core (never a downloaded browser). Installs Debian's chromium
// when it is missing only when asked to (CI=true, GF_INSTALL=1 or npm run
// setup); otherwise fails with the command to run.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHROMIUM = '/usr/bin/chromium';

export function ensureChromium() {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  const asked = process.env.CI === 'true' || process.env.GF_INSTALL === '1';
  if (asked) {
    const run = (args) => execFileSync(sudo ? 'sudo' : args[0], sudo ? args : args.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    run(['apt-get', 'update', '-qq']);
    run(['apt-get', 'install', '-y', '-qq', 'chromium']);
    if (existsSync(CHROMIUM)) return CHROMIUM;
  }
  throw new Error(
    `Chromium is missing: install it with "${sudo}apt-get install -y chromium"` + (asked ? '' : ' (or run the tests with GF_INSTALL=1, or npm run setup, to let them do it)'),
  );
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
    context,
    profile, // the --user-data-dir, which names this Chromium's processes (bench/lib/procmem.mjs)
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
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
