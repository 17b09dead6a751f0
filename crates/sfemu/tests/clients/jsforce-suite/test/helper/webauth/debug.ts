import puppeteer, { Page } from 'puppeteer';

function retrieveCallbackedParameters(url: string) {
  const params: { [name: string]: string } = {};
  const qparams = (url.split('?').pop() || '').split('&');
  for (const qparam of qparams) {
    const pair = qparam.split('=');
    params[pair[0]] = decodeURIComponent(pair[1]);
  }
  return params;
}

async function loginAndApprove(
  page: Page,
  username: string,
  password: string,
): Promise<any> {
  const url = page.url();
  console.log(Date.now() % 100000, 'at', url.slice(0, 100));
  if (url.indexOf('/setup/secur/RemoteAccessAuthorizationPage.apexp') > 0) {
    // authorization page
    console.log(Date.now() % 100000, 'click oaapprove');
    await page.click('#oaapprove');
    console.log(Date.now() % 100000, 'clicked oaapprove');
    await page.waitForNavigation({ waitUntil: 'networkidle2' });
    await delay(1000);
    return loginAndApprove(page, username, password);
  } else if (url.indexOf('/?ec=302') > 0) {
    // login page - may be multi-step (username first, then password)
    await page.waitForSelector('#username', { timeout: 10000 });
    await page.type('#username', username);
    const passwordField = await page.$('#password');
    if (passwordField) {
      await page.type('#password', password);
      console.log(Date.now() % 100000, 'click Login');
      await page.click('[name=Login]');
      console.log(Date.now() % 100000, 'clicked Login');
    } else {
      await page.click('[name=Login]');
      await page.waitForSelector('#password', { timeout: 10000 });
      await page.type('#password', password);
      await page.click('[name=Login]');
    }
    await page.waitForNavigation({ waitUntil: 'networkidle2' });
    return loginAndApprove(page, username, password);
  } else if (url.startsWith('http://localhost')) {
    // callback response
    return retrieveCallbackedParameters(url);
  } else if (url.indexOf('/setup/secur/RemoteAccessErrorPage.apexp') > 0) {
    // authorization error
    throw new Error('invalid authorization error');
  } else {
    await delay(1000);
    return loginAndApprove(page, username, password);
  }
}

export default async function authorize(
  url: string,
  username: string,
  password: string,
) {
  const browser = await puppeteer.launch({
    headless: true,
    args: ['--no-sandbox', '--disable-setuid-sandbox'],
    ...(process.env.CHROME_BIN ? { executablePath: process.env.CHROME_BIN } : {}),
  });
  let ret;
  try {
    const page = await browser.newPage();
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      const reqUrl = request.url();
      if (reqUrl.startsWith('http://localhost')) {
        request.respond({
          status: 200,
          contentType: 'text/html',
          body: '<html><body></body></html>',
        });
      } else {
        request.continue();
      }
    });
    page.on('framenavigated', (f) => console.log(Date.now() % 100000, 'navigated', f.url().slice(0, 80)));
    page.on('request', (r) => console.log(Date.now() % 100000, 'request', r.method(), r.url().slice(0, 80)));
    await page.goto(url);
    ret = await loginAndApprove(page, username, password);
  } finally {
    if (browser) {
      browser.close();
    }
  }
  return ret;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
