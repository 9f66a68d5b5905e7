/**
 * `npm run bench -- charts`: draws bench/charts/*.png with gnuplot (a Debian package hack/tools
 * installs on first use) from the raw samples the benchmarks saved in bench/results/. Charts of a
 * benchmark that has not been run yet are skipped, and say so.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { toolPath } from '../e2e/harness/index.js';
import { loadSamples } from './samples.js';

const CHARTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'charts');
const STYLE = ['set terminal pngcairo size 900,540 font "DejaVu Sans,11"', 'set grid', 'set key top left', 'set border 3', 'set tics nomirror'];

interface Chart {
  readonly file: string;
  /** gnuplot commands after STYLE and `set output`; data files are $DIR/NAME.dat. */
  readonly script: readonly string[];
  readonly data: Readonly<Record<string, string>>;
}

export async function benchCharts(say: (line: string) => void): Promise<object> {
  const charts = [latencyChart(), dnsChart(), rssChart()];
  const drawn: string[] = [];
  const gnuplot = await toolPath('gnuplot');
  mkdirSync(CHARTS_DIR, { recursive: true });
  for (const [name, chart] of Object.entries({ latency: charts[0], 'dns-qps': charts[1], rss: charts[2] })) {
    if (!chart) {
      say(`${name}: skipped, its benchmark has not saved samples in bench/results yet`);
      continue;
    }
    const dir = mkdtempSync(join(tmpdir(), 'hp-charts-'));
    try {
      for (const [file, text] of Object.entries(chart.data)) writeFileSync(join(dir, `${file}.dat`), text);
      const output = join(CHARTS_DIR, chart.file);
      const script = join(dir, 'chart.gp');
      writeFileSync(script, [...STYLE, `set output "${output}"`, ...chart.script.map((line) => line.replaceAll('$DIR', dir))].join('\n'));
      await promisify(execFile)(gnuplot, [script]);
      drawn.push(chart.file);
      say(`${name}: bench/charts/${chart.file}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { charts: drawn.length, files: drawn.join(' ') };
}

/** The lone-change latency distribution: sorted samples against their percentile, with the target. */
function latencyChart(): Chart | undefined {
  const samples = loadSamples<{ latencies_ms: number[] }>('latency');
  if (!samples) return undefined;
  const sorted = [...samples.latencies_ms].sort((a, b) => a - b);
  const rows = sorted.map((ms, i) => `${(((i + 1) / sorted.length) * 100).toFixed(2)} ${ms}`).join('\n');
  return {
    file: 'latency.png',
    data: { latency: rows },
    script: [
      `set title "Lone Ingress change → ConfigMap watch event (${sorted.length} samples, ${samples.recordedAt.slice(0, 10)})"`,
      'set xlabel "percentile"',
      'set ylabel "milliseconds"',
      'set xrange [0:100]',
      // A sample can be just below 0: the watch event may be handled before the create call's reply.
      'set yrange [*:*]',
      'plot "$DIR/latency.dat" using 1:2 with linespoints pt 7 ps 0.6 title "latency", 50 with lines dt 2 lw 2 title "target p99 ≤ 50 ms"',
    ],
  };
}

/** Queries per second against the number of hairpin hosts, for each rule format. */
function dnsChart(): Chart | undefined {
  const samples = loadSamples<{ curve: Array<{ hosts: number; qps_no_rules: number; qps_ours: number; qps_seed_format: number }> }>('dns');
  if (!samples?.curve.length) return undefined;
  const rows = samples.curve.map((p) => `${p.hosts} ${p.qps_no_rules} ${p.qps_ours} ${p.qps_seed_format}`).join('\n');
  return {
    file: 'dns-qps.png',
    data: { dns: rows },
    script: [
      `set title "CoreDNS queries per second against hairpin hosts (cache off, half the queries routed; ${samples.recordedAt.slice(0, 10)})"`,
      'set xlabel "hairpin hosts"',
      'set ylabel "queries per second"',
      'set logscale xy',
      'set xrange [70:30000]',
      'set key bottom left',
      'plot "$DIR/dns.dat" using 1:2 with linespoints pt 7 title "no rules", "" using 1:3 with linespoints pt 5 title "hairpin-proxy rules", "" using 1:4 with linespoints pt 9 title "original project (one line per host)"',
    ],
  };
}

/** The controller's resident memory over the scale benchmark, with the 200 MiB target. */
function rssChart(): Chart | undefined {
  const samples = loadSamples<{ rss_mib: Array<{ s: number; mib: number }>; initial_sync_ms: number }>('scale');
  if (!samples?.rss_mib.length) return undefined;
  return {
    file: 'rss.png',
    data: { rss: samples.rss_mib.map(({ s, mib }) => `${s} ${mib}`).join('\n') },
    script: [
      `set title "Controller RSS: 10,000 Ingresses, initial sync then 20 updates (${samples.recordedAt.slice(0, 10)})"`,
      'set xlabel "seconds since the controller started"',
      'set ylabel "MiB"',
      'set yrange [0:260]',
      'set key bottom right',
      `set arrow from ${(samples.initial_sync_ms / 1000).toFixed(2)}, graph 0 to ${(samples.initial_sync_ms / 1000).toFixed(2)}, graph 1 nohead dt 3`,
      `set label "initial sync done" at ${(samples.initial_sync_ms / 1000).toFixed(2)}, graph 0.1 offset 0.5,0`,
      'plot "$DIR/rss.dat" using 1:2 with lines lw 2 title "RSS", 200 with lines dt 2 lw 2 title "target ≤ 200 MiB"',
    ],
  };
}
