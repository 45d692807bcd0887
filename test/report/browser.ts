import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, headless, with the flags that work on CI machines (no GPU, no sandbox, no network). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
