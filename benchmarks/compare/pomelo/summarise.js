// Reads the JSON lines run.sh collected and prints the comparison: medians per
// configuration, pomelo's best configuration, and the ratios (each the median of the
// per-round ratios, both sides of a ratio from the same round).
//
// usage: node summarise.js RESULTS.jsonl
'use strict';

const fs = require('fs');

const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.trim());
const records = lines.map((l) => JSON.parse(l));

function median(v) {
  const s = v.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// Flatten: a mailroom-load --vs-raw record yields a "mailroom" and a "raw" row.
const rows = [];
for (const r of records) {
  if (r.label === 'mailroom') {
    rows.push({ round: r.round, inflight: r.inflight, label: 'mailroom (tcp)', m: r.result });
    if (r.result.raw) rows.push({ round: r.round, inflight: r.inflight, label: 'raw socket', m: r.result.raw });
  } else {
    rows.push({ round: r.round, inflight: r.inflight, label: r.label, m: r.result });
  }
}

const fmt = (v, d = 0) => (v === null || v === undefined ? '—' : Number(v).toFixed(d));
const inflights = [...new Set(rows.map((r) => r.inflight))];
let out = '';
for (const n of inflights) {
  const here = rows.filter((r) => r.inflight === n);
  const labels = [...new Set(here.map((r) => r.label))];
  const med = {};
  for (const l of labels) {
    const rs = here.filter((r) => r.label === l).map((r) => r.m);
    med[l] = {
      runs: rs.length,
      cps: median(rs.map((m) => m.calls_per_sec)),
      p50: median(rs.map((m) => m.p50_us)),
      p99: median(rs.map((m) => m.p99_us)),
      p999: median(rs.map((m) => m.p999_us)),
      cpu: median(rs.map((m) => m.cpu_us_per_call)),
      ccpu: median(rs.map((m) => m.client_cpu_us_per_call)),
      scpu: median(rs.map((m) => m.server_cpu_us_per_call)),
      srss: median(rs.map((m) => m.server_peak_rss_kib)),
    };
  }
  const pomelo = labels.filter((l) => l.startsWith('pomelo'));
  const best = pomelo.reduce((a, b) => (a === null || med[b].cps > med[a].cps ? b : a), null);
  out += `\n### ${n} in flight\n\n`;
  out += '| configuration | runs | calls/s | p50 µs | p99 µs | p99.9 µs | CPU µs/call (client+server) | client | server | server peak RSS KiB |\n';
  out += '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n';
  for (const l of labels) {
    const m = med[l];
    out += `| ${l}${l === best ? ' **(best pomelo)**' : ''} | ${m.runs} | ${fmt(m.cps)} | ${fmt(m.p50, 1)} | ${fmt(m.p99, 1)} | ${fmt(m.p999, 1)} | ${fmt(m.cpu, 2)} | ${fmt(m.ccpu, 2)} | ${fmt(m.scpu, 2)} | ${fmt(m.srss)} |\n`;
  }
  // Ratios within each round.
  const ratio = (a, b, key) => {
    const v = [];
    const rounds = [...new Set(here.map((r) => r.round))];
    for (const round of rounds) {
      const x = here.find((r) => r.round === round && r.label === a);
      const y = here.find((r) => r.round === round && r.label === b);
      if (x && y && x.m[key] > 0 && y.m[key] > 0) v.push(x.m[key] / y.m[key]);
    }
    return median(v);
  };
  out += '\n';
  out += `- mailroom / raw calls/s: **${fmt(ratio('mailroom (tcp)', 'raw socket', 'calls_per_sec'), 3)}**`;
  out += `; p50: **${fmt(ratio('mailroom (tcp)', 'raw socket', 'p50_us'), 3)}**`;
  out += `; CPU per call: ${fmt(ratio('mailroom (tcp)', 'raw socket', 'cpu_us_per_call'), 2)}\n`;
  if (best) {
    out += `- mailroom / pomelo best (${best}) calls/s: **${fmt(ratio('mailroom (tcp)', best, 'calls_per_sec'), 1)}**`;
    out += `; p50 pomelo best / mailroom: ${fmt(ratio(best, 'mailroom (tcp)', 'p50_us'), 1)}\n`;
  }
  if (pomelo.includes('pomelo shipped'))
    out += `- mailroom / pomelo as shipped calls/s: ${fmt(ratio('mailroom (tcp)', 'pomelo shipped', 'calls_per_sec'), 1)}\n`;
}
process.stdout.write(out);
