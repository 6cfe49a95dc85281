// Can I email (caniemail.com) support of rendered HTML, for tests/test_client_support.py.
// Reads JSON [{id, html}] on stdin, writes JSON [{id, errors, warnings}] on stdout: one node
// process for every render (node's start-up and the 900 KB data table load once).
// doiuse-email lints HTML elements, attributes and CSS properties; three features it does not
// detect are looked up in the same data when the HTML uses them.
import { DoIUseEmail, doIUseEmail } from '@jsx-email/doiuse-email';

const CLIENTS = ['gmail.*', 'outlook.*', 'apple-mail.*', 'yahoo.*', 'samsung-email.*'];
const UNDETECTED = [
  [/<style[\s>]/i, '<style> element'],
  [/prefers-color-scheme/i, '@media (prefers-color-scheme)'],
  [/<meta[^>]+name="color-scheme"/i, 'color-scheme meta tag'],
];

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const results = JSON.parse(input).map(({ id, html }) => {
    const found = doIUseEmail(html, { emailClients: CLIENTS });
    const extra = new DoIUseEmail({ emailClients: CLIENTS });
    extra.checkFeaturesSupport(UNDETECTED.filter(([re]) => re.test(html)).map(([, name]) => name));
    return {
      id,
      errors: [...new Set([...(found.errors ?? []), ...extra.errors])],
      warnings: [...new Set([...found.warnings, ...extra.warnings])],
    };
  });
  process.stdout.write(JSON.stringify(results));
});
