// Re-serialise records the way gitsheets 1.4.1 does: a deep key sort (sort-keys 6.0.0), then
// @iarna/toml 2.2.5 stringify. Reads NDJSON records on stdin; writes one JSON line per record:
// {"toml": "<bytes as a string>"} or {"error": "<message>"}.
// With --parse, reads NDJSON {"toml": "..."} lines and writes the values smol-toml 1.7.0 parses.
import TOML from '@iarna/toml';
import sortKeys from 'sort-keys';
import { parse } from 'smol-toml';
import { createInterface } from 'node:readline';

const parseMode = process.argv.includes('--parse');
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];
for await (const line of rl) {
  if (!line) continue;
  try {
    if (parseMode) {
      const value = parse(JSON.parse(line).toml);
      out.push(JSON.stringify({ value }, (k, v) => (v instanceof Date ? v.toISOString() : v)));
    } else {
      out.push(JSON.stringify({ toml: TOML.stringify(sortKeys(JSON.parse(line), { deep: true })) }));
    }
  } catch (e) {
    out.push(JSON.stringify({ error: String(e && e.message || e) }));
  }
}
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
