// matomo-tracker (Matomo's Node client), unmodified: only the tracker URL's host changes
// from the Matomo server to Hearth. Arguments come from the environment (see the test).
const MatomoTracker = require('matomo-tracker');

const { HEARTH_URL, IDSITE, PAGE_HOST, USER_AGENT } = process.env;
const matomo = new MatomoTracker(IDSITE, `${HEARTH_URL}/matomo.php`);
const errors = [];
matomo.on('error', (err) => errors.push(String(err)));
const page = `https://${PAGE_HOST}/node/docs?utm_source=newsletter&utm_campaign=winter`;
// A pageview, with the visitor's user agent forwarded (ua), as a server-side tracker does.
matomo.track({ url: page, action_name: 'Docs', ua: USER_AGENT, _id: '0123456789abcdef',
               urlref: 'https://news.example.org/issue-7', res: '1920x1080' });
// An event: category, action, name, value.
matomo.track({ url: page, e_c: 'Video', e_a: 'Play', e_n: 'Intro', e_v: 3, ua: USER_AGENT,
               _id: '0123456789abcdef' });
process.on('exit', () => console.log(JSON.stringify({ errors })));
