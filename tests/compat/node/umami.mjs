// @umami/node, unmodified, as a migrating owner's server code uses it: only hostUrl changes
// from the Umami server to Hearth. Arguments come from the environment (see the test).
import pkg from '@umami/node';

// In Node ESM the package's CommonJS build arrives nested: the instance is pkg.default.
const umami = pkg.default ?? pkg;
const { HEARTH_URL, WEBSITE_ID, PAGE_HOST, USER_AGENT } = process.env;

umami.init({ websiteId: WEBSITE_ID, hostUrl: HEARTH_URL, userAgent: USER_AGENT });
const answers = [];
const keep = async (what, promise) => {
  const res = await promise;
  answers.push({ what, status: res.status, body: (await res.text()).slice(0, 300) });
};
// A pageview (the object form, as Umami's docs show for server-side pageviews).
await keep('pageview', umami.track({
  hostname: PAGE_HOST, url: '/node/pricing?utm_source=newsletter&utm_campaign=winter',
  title: 'Pricing', referrer: 'https://news.example.org/issue-7', language: 'en-US',
  screen: '1920x1080',
}));
// An event with data (the name + data form: no url, as Umami accepts it).
await keep('event', umami.track('Signup', { plan: 'pro', seats: 3 }));
console.log(JSON.stringify(answers));
