/**
 * `npm run bench -- dns [--json]`: what our rewrite rules cost CoreDNS per query.
 *
 * One real CoreDNS on one core (taskset), dnsperf on the other, `cache` off, the same binary and
 * the same half-routed question list (bench/dns-hosts.ts) for three Corefiles: no rules, ours
 * (rewriteRules), and the original hairpin-proxy's one line per host. Rewritten names are answered
 * by a `template` stub (bench/dns-server.ts says why). Then: ours against no rules with kubeadm's
 * `cache 30`; the ratio against host count; and the per-query cost against the longest pattern a
 * rule may carry, which is how MAX_PATTERN_LENGTH was chosen (docs/dns-rules.md).
 *
 * The machine is shared, so each figure is also given per CPU second of CoreDNS (cpu_qps_*):
 * queries answered divided by the CPU time CoreDNS used, which other processes on the core do not
 * inflate the way they cut wall-clock qps. Configurations alternate within a round.
 */
import { cleanupAll, HAIRPIN_FQDN, makeTmpDir } from '../e2e/harness/index.js';
import { MAX_PATTERN_LENGTH, rewriteRules } from '../src/coredns/rules.js';
import { cachedQuestions, mixedQuestions, routedHosts, seedFormatRule, writeQuestions, type Shape } from './dns-hosts.js';
import { dnsperf, startStubDns, STUB_ADDRESS } from './dns-server.js';
import { saveSamples } from './samples.js';

const HOSTS = 20_000;
const CURVE = [100, 1_000, 5_000, 10_000, 20_000];
const RULE_LENGTHS = [500, 1_000, 2_500, 5_000, MAX_PATTERN_LENGTH];
const SECONDS = 4;
const ROUNDS = 2;
const QUESTIONS = 100_000;
const CACHED_QUESTIONS = 150_000;
/** The share of questions that repeat a name asked within the cache's 30 s. */
const REPEATED = 0.8;
const TARGET = HAIRPIN_FQDN;

type Config = 'no_rules' | 'ours' | 'seed_format';

interface Measured {
  readonly qps: number;
  readonly cpuQps: number;
  readonly rssKib: number;
}

export interface DnsBenchResult {
  hosts: number;
  qps_no_rules: number;
  qps_ours: number;
  qps_seed_format: number;
  qps_ratio_vs_no_rules: number;
  qps_ratio_vs_seed_format: number;
  qps_ratio_with_cache: number;
  cpu_qps_no_rules: number;
  cpu_qps_ours: number;
  cpu_qps_seed_format: number;
  cpu_ratio_vs_no_rules: number;
  cpu_ratio_with_cache: number;
  cache_repeated_share: number;
  rules_ours: number;
  rules_seed_format: number;
  corefile_bytes_ours: number;
  corefile_bytes_seed_format: number;
  corefile_bytes_ours_shared_parents: number;
  rules_ours_shared_parents: number;
  qps_ratio_vs_no_rules_shared_parents: number;
  cpu_ratio_vs_no_rules_shared_parents: number;
  rss_kib_no_rules: number;
  rss_kib_ours: number;
  rss_kib_seed_format: number;
  max_pattern_length: number;
  qps_dedicated_blocks: number;
  cpu_ratio_dedicated_blocks_vs_no_rules: number;
  rss_kib_dedicated_blocks: number;
}

export async function benchDns(say: (line: string) => void): Promise<DnsBenchResult> {
  const tmpDir = makeTmpDir('bench-dns');
  let runs = 0;
  /** One CoreDNS with these rules, loaded for SECONDS (or one pass over the file), then stopped. */
  const measure = async (rules: readonly string[], questions: string, probe: string, options: { cacheSeconds?: number; once?: boolean; before?: string } = {}): Promise<Measured> => {
    const dns = await startStubDns({
      tmpDir,
      name: `coredns-${runs++}`,
      rules,
      probe,
      ...(options.cacheSeconds === undefined ? {} : { cacheSeconds: options.cacheSeconds }),
      ...(options.before === undefined ? {} : { before: options.before }),
    });
    try {
      const cpuBefore = dns.cpuSeconds();
      const load = await dnsperf(dns.port, questions, { seconds: options.once ? 3 * SECONDS : SECONDS, ...(options.once ? { once: true } : {}) });
      const cpu = dns.cpuSeconds() - cpuBefore;
      return { qps: load.qps, cpuQps: cpu > 0 ? load.completed / cpu : NaN, rssKib: dns.rssKib() };
    } finally {
      await dns.stop();
    }
  };
  const rulesFor = (shape: Shape, hosts: number): Record<Config, string[]> => {
    const names = routedHosts(shape, hosts);
    return {
      no_rules: [],
      ours: rewriteRules(names.map((host) => ({ host, target: TARGET }))),
      seed_format: names.map(seedFormatRule),
    };
  };
  /** Alternating rounds of the configurations; the mean of each. */
  const compare = async (shape: Shape, hosts: number, configs: readonly Config[], rounds: number) => {
    const rules = rulesFor(shape, hosts);
    const questions = writeQuestions(`${tmpDir}/${shape}-${hosts}.txt`, mixedQuestions(shape, hosts, QUESTIONS));
    const probe = routedHosts(shape, 1)[0] ?? '';
    const samples = new Map<Config, Measured[]>(configs.map((config) => [config, []]));
    for (let round = 0; round < rounds; round++) {
      for (const config of configs) samples.get(config)?.push(await measure(rules[config], questions, probe));
    }
    const mean = (config: Config, field: keyof Measured) => average((samples.get(config) ?? []).map((sample) => sample[field]));
    const line = configs.map((config) => `${config} ${mean(config, 'qps').toFixed(0)} qps (${mean(config, 'cpuQps').toFixed(0)}/cpu-s)`).join(', ');
    say(`${shape}, ${hosts} hosts: ${line}`);
    return { rules, mean, bytes: (config: Config) => rules[config].join('\n').length };
  };

  try {
    const main = await compare('distinct-parents', HOSTS, ['no_rules', 'ours', 'seed_format'], ROUNDS);
    const shared = await compare('shared-parents', HOSTS, ['no_rules', 'ours'], ROUNDS);

    // The other direction: a server block per hairpin zone (here the 97 example<k>.com), each with
    // only its own hosts' rules, so questions outside those zones never meet a rule. Every block
    // gets its own plugin instances; with only a stub in each, its memory is a lower bound.
    const zoneBlocks = dedicatedBlocks(routedHosts('distinct-parents', HOSTS));
    const zoneQuestions = writeQuestions(`${tmpDir}/zones.txt`, mixedQuestions('distinct-parents', HOSTS, QUESTIONS));
    const dedicated: Measured[] = [];
    for (let round = 0; round < ROUNDS; round++) dedicated.push(await measure([], zoneQuestions, routedHosts('distinct-parents', 1)[0] ?? '', { before: zoneBlocks }));
    const dedicatedMean = (field: keyof Measured) => average(dedicated.map((sample) => sample[field]));
    say(`a server block per zone (97 blocks): ${dedicatedMean('qps').toFixed(0)} qps (${dedicatedMean('cpuQps').toFixed(0)}/cpu-s), RSS ${dedicatedMean('rssKib').toFixed(0)} KiB`);

    const cached = writeQuestions(`${tmpDir}/cached.txt`, cachedQuestions('distinct-parents', HOSTS, CACHED_QUESTIONS, REPEATED));
    const probe = routedHosts('distinct-parents', 1)[0] ?? '';
    const withCache = { no_rules: [] as Measured[], ours: [] as Measured[] };
    for (let round = 0; round < ROUNDS; round++) {
      withCache.no_rules.push(await measure([], cached, probe, { cacheSeconds: 30, once: true }));
      withCache.ours.push(await measure(main.rules.ours, cached, probe, { cacheSeconds: 30, once: true }));
    }
    const cachedMean = (config: 'no_rules' | 'ours', field: keyof Measured) => average(withCache[config].map((sample) => sample[field]));
    say(`with cache 30 (${REPEATED * 100}% repeated names): no rules ${cachedMean('no_rules', 'qps').toFixed(0)} qps, ours ${cachedMean('ours', 'qps').toFixed(0)} qps`);

    const curve = [];
    for (const hosts of CURVE) {
      const point = hosts === HOSTS ? main : await compare('distinct-parents', hosts, ['no_rules', 'ours', 'seed_format'], 1);
      curve.push({
        hosts,
        qps_no_rules: round(point.mean('no_rules', 'qps')),
        qps_ours: round(point.mean('ours', 'qps')),
        qps_seed_format: round(point.mean('seed_format', 'qps')),
        cpu_qps_no_rules: round(point.mean('no_rules', 'cpuQps')),
        cpu_qps_ours: round(point.mean('ours', 'cpuQps')),
        cpu_qps_seed_format: round(point.mean('seed_format', 'cpuQps')),
        rules_ours: point.rules.ours.length,
        bytes_ours: point.bytes('ours'),
        bytes_seed_format: point.bytes('seed_format'),
      });
    }

    const ruleLengths = [];
    const names = routedHosts('distinct-parents', HOSTS);
    const questions = writeQuestions(`${tmpDir}/lengths.txt`, mixedQuestions('distinct-parents', HOSTS, QUESTIONS));
    const reference = await measure([], questions, probe);
    for (const maxPatternLength of RULE_LENGTHS) {
      const rules = rewriteRules(
        names.map((host) => ({ host, target: TARGET })),
        { maxPatternLength },
      );
      const sample = await measure(rules, questions, probe);
      say(`longest pattern ${maxPatternLength}: ${rules.length} rules, ${sample.qps.toFixed(0)} qps (${sample.cpuQps.toFixed(0)}/cpu-s; no rules ${reference.cpuQps.toFixed(0)}/cpu-s)`);
      ruleLengths.push({
        max_pattern_length: maxPatternLength,
        rules: rules.length,
        bytes: rules.join('\n').length,
        qps: round(sample.qps),
        cpu_qps: round(sample.cpuQps),
        // Extra CPU per query that the rules cost, and that per rule a question walks through on average.
        extra_cpu_us_per_query: round(1e6 / sample.cpuQps - 1e6 / reference.cpuQps),
      });
    }

    const result: DnsBenchResult = {
      hosts: HOSTS,
      qps_no_rules: round(main.mean('no_rules', 'qps')),
      qps_ours: round(main.mean('ours', 'qps')),
      qps_seed_format: round(main.mean('seed_format', 'qps')),
      qps_ratio_vs_no_rules: ratio(main.mean('ours', 'qps'), main.mean('no_rules', 'qps')),
      qps_ratio_vs_seed_format: ratio(main.mean('ours', 'qps'), main.mean('seed_format', 'qps')),
      qps_ratio_with_cache: ratio(cachedMean('ours', 'qps'), cachedMean('no_rules', 'qps')),
      cpu_qps_no_rules: round(main.mean('no_rules', 'cpuQps')),
      cpu_qps_ours: round(main.mean('ours', 'cpuQps')),
      cpu_qps_seed_format: round(main.mean('seed_format', 'cpuQps')),
      cpu_ratio_vs_no_rules: ratio(main.mean('ours', 'cpuQps'), main.mean('no_rules', 'cpuQps')),
      cpu_ratio_with_cache: ratio(cachedMean('ours', 'cpuQps'), cachedMean('no_rules', 'cpuQps')),
      cache_repeated_share: REPEATED,
      rules_ours: main.rules.ours.length,
      rules_seed_format: main.rules.seed_format.length,
      corefile_bytes_ours: main.bytes('ours'),
      corefile_bytes_seed_format: main.bytes('seed_format'),
      corefile_bytes_ours_shared_parents: shared.bytes('ours'),
      rules_ours_shared_parents: shared.rules.ours.length,
      qps_ratio_vs_no_rules_shared_parents: ratio(shared.mean('ours', 'qps'), shared.mean('no_rules', 'qps')),
      cpu_ratio_vs_no_rules_shared_parents: ratio(shared.mean('ours', 'cpuQps'), shared.mean('no_rules', 'cpuQps')),
      rss_kib_no_rules: round(main.mean('no_rules', 'rssKib')),
      rss_kib_ours: round(main.mean('ours', 'rssKib')),
      rss_kib_seed_format: round(main.mean('seed_format', 'rssKib')),
      max_pattern_length: MAX_PATTERN_LENGTH,
      qps_dedicated_blocks: round(dedicatedMean('qps')),
      cpu_ratio_dedicated_blocks_vs_no_rules: ratio(dedicatedMean('cpuQps'), main.mean('no_rules', 'cpuQps')),
      rss_kib_dedicated_blocks: round(dedicatedMean('rssKib')),
    };
    say(`samples: ${saveSamples('dns', { ...result, curve, rule_lengths: ruleLengths })}`);
    return result;
  } finally {
    await cleanupAll();
  }
}

/** One server block per parent zone of the hosts' last two labels, with that zone's rules and the stub. */
function dedicatedBlocks(hosts: readonly string[]): string {
  const zones = new Map<string, string[]>();
  for (const host of hosts) {
    const zone = host.split('.').slice(-2).join('.');
    zones.set(zone, [...(zones.get(zone) ?? []), host]);
  }
  return [...zones.entries()]
    .map(([zone, names]) =>
      [
        `${zone}:PORT {`,
        ...rewriteRules(names.map((host) => ({ host, target: TARGET }))).map((rule) => `    ${rule}`),
        '    template IN A . {',
        `        answer "{{ .Name }} 30 IN A ${STUB_ADDRESS}"`,
        '    }',
        '}',
        '',
      ].join('\n'),
    )
    .join('');
}

function average(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

function round(value: number): number {
  return Math.round(value);
}

function ratio(a: number, b: number): number {
  return Number((a / b).toFixed(3));
}
