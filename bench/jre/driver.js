// The json-rules-engine peer of the benchmark: reads the same Segment JSON lines as trig, keeps
// the history the rules consult (a customer's last purchase; the recent view times of each
// product), and runs each event through an engine holding the rules anchored on its type.
//
// Usage: node driver.js RULES.json EVENTS.jsonl    prints one JSON object with fired counts.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');

// The harness installs json-rules-engine into bench/node_modules (package.json pins it).
const { Engine } = require(path.join(__dirname, '..', 'node_modules', 'json-rules-engine'));

const MS_DAY = 86400000;

function snake(key) {
  return /[A-Z]/.test(key) ? key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()) : key;
}

async function main() {
  const [rulesPath, eventsPath] = process.argv.slice(2);
  if (!rulesPath || !eventsPath) {
    process.stderr.write('usage: node driver.js RULES.json EVENTS.jsonl\n');
    process.exit(2);
  }
  const spec = JSON.parse(fs.readFileSync(rulesPath, 'utf8'));
  const fired = Object.fromEntries(spec.rule_names.map((n) => [n, 0]));
  const keep = spec.views_keep;

  // History, as of the event being processed (which it already includes).
  const lastPurchase = new Map();  // customer -> time
  const views = new Map();         // customer + '\u0000' + product -> recent view times
  let current = null;              // { customer, time, product_id }

  const engines = {};
  for (const [type, rules] of Object.entries(spec.by_type)) {
    const engine = new Engine([], { allowUndefinedFacts: true });
    engine.addOperator('stringContains', (a, b) => typeof a === 'string' && a.includes(b));
    engine.addOperator('startsWith', (a, b) => typeof a === 'string' && a.startsWith(b));
    engine.addOperator('isPresent', (a, b) => (a !== undefined && a !== null) === b);
    engine.addFact('purchased_within', (params) => {
      const t = lastPurchase.get(current.customer);
      return t !== undefined && t >= current.time - params.days * MS_DAY && t <= current.time;
    });
    engine.addFact('views_within', (params) => {
      if (current.product_id === undefined) return 0;
      const times = views.get(current.customer + '\u0000' + current.product_id);
      if (!times) return 0;
      const lo = current.time - params.days * MS_DAY;
      let n = 0;
      for (const t of times) if (t >= lo && t <= current.time) n++;
      return n;
    });
    for (const r of rules) engine.addRule(r);
    engines[type] = engine;
  }

  let events = 0;
  let rejected = 0;
  const input = readline.createInterface({ input: fs.createReadStream(eventsPath), crlfDelay: Infinity });
  for await (const line of input) {
    if (!line.trim()) continue;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch (e) {
      rejected++;
      continue;
    }
    const type = msg.event;
    const fields = spec.fields[type];
    const time = Date.parse(msg.timestamp);
    if (!fields || !msg.userId || Number.isNaN(time)) {
      rejected++;
      continue;
    }
    events++;
    const facts = {};
    for (const [k, v] of Object.entries(msg.properties || {})) {
      const f = snake(k);
      if (fields.includes(f) && v !== null) facts[f] = v;
    }
    const customer = msg.userId;
    if (type === 'purchased') lastPurchase.set(customer, time);
    if (type === 'product_view' && keep > 0) {
      const key = customer + '\u0000' + facts.product_id;
      let times = views.get(key);
      if (!times) views.set(key, (times = []));
      times.push(time);
      if (times.length > keep) times.shift();
    }
    const engine = engines[type];
    if (!engine) continue;
    current = { customer, time, product_id: facts.product_id };
    const result = await engine.run(facts);
    for (const ev of result.events) fired[ev.type]++;
  }
  process.stdout.write(JSON.stringify({ engine: 'json-rules-engine', events, rejected, fired }) + '\n');
  process.exitCode = rejected > 0 ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
  process.exit(2);
});
