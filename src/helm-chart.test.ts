/**
 * The Helm chart (deploy/helm/hairpin-proxy) read as files, without Helm: its `config` values and
 * schema name exactly the controller's flags, each documented with its default, and its Grafana
 * dashboard charts only metrics the controller exports. Rendering the chart is
 * e2e/local/helm-chart.int.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { isMap, isScalar, parseDocument, type Pair } from 'yaml';
import { envName, FLAGS } from './config.js';
import { createMetrics } from './metrics.js';

const CHART = new URL('../deploy/helm/hairpin-proxy/', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, CHART), 'utf8');

/** values.yaml's `config` entries: key, value and the comment above the key. */
function configEntries(): Array<{ key: string; value: unknown; comment: string }> {
  const doc = parseDocument(read('values.yaml'));
  const config = doc.get('config', true);
  if (!isMap(config)) throw new Error('values.yaml has no `config:` map');
  return (config.items as Array<Pair<unknown, unknown>>).map((pair, index) => {
    if (!isScalar(pair.key)) throw new Error('a `config` key is not a plain string');
    const value = isScalar(pair.value) ? pair.value.value : (pair.value as { toJSON(): unknown } | null)?.toJSON();
    // The parser gives the first entry's comment to the map itself.
    const comment = pair.key.commentBefore ?? (index === 0 ? config.commentBefore : undefined) ?? '';
    return { key: String(pair.key.value), value, comment };
  });
}

describe('values.yaml `config`', () => {
  const entries = configEntries();

  it('has one key per controller flag, in FLAGS order, and no other', () => {
    expect(entries.map((e) => e.key)).toEqual(FLAGS.map((f) => f.name));
  });

  it.each(FLAGS.map((f) => [f.name, f] as const))('--%s is unset by default and its comment gives its variable and default', (name, flag) => {
    const entry = entries.find((e) => e.key === name);
    // Unset: the chart passes no flag, so the controller's own default applies.
    expect(flag.kind === 'list' || flag.kind === 'entries' ? entry?.value : [entry?.value]).toEqual(flag.kind === 'list' || flag.kind === 'entries' ? [] : [null]);
    expect(entry?.comment.replace(/\s+/g, ' ')).toContain(`--${name} (${envName(name)}; default ${flag.default === '' ? 'unset' : flag.default})`);
  });
});

describe('values.schema.json', () => {
  const schema = JSON.parse(read('values.schema.json')) as {
    properties: { config: { additionalProperties: boolean; properties: Record<string, { type?: string[]; enum?: unknown[] }> } };
  };
  const config = schema.properties.config;

  it('refuses a `config` key that is no flag, and knows every flag', () => {
    expect(config.additionalProperties).toBe(false);
    expect(Object.keys(config.properties)).toEqual(FLAGS.map((f) => f.name));
  });

  it.each(FLAGS.map((f) => [f.name, f.kind] as const))('types --%s as a %s', (name, kind) => {
    const property = config.properties[name];
    const types = property?.type ?? [...new Set(property?.enum?.map((v) => (v === null ? 'null' : typeof v)))];
    expect(types).toContain('null');
    if (kind === 'boolean') expect(types).toEqual(['boolean', 'null']);
    else if (kind === 'list' || kind === 'entries') expect(types).toContain('array');
    else expect(types).toContain('string');
  });
});

describe('Chart.yaml', () => {
  it("has the controller's version as appVersion, the default image tag", () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(parseDocument(read('Chart.yaml')).get('appVersion')).toBe(pkg.version);
  });
});

describe('the Grafana dashboard (files/dashboard.json)', () => {
  interface Panel {
    title: string;
    targets: Array<{ expr: string }>;
  }
  const dashboard = JSON.parse(read('files/dashboard.json')) as { panels: Panel[] };

  it('names each panel after a metric the controller exports, and queries only exported metrics', async () => {
    const exported = new Map((await createMetrics().registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
    const unknown: string[] = [];
    for (const panel of dashboard.panels) {
      if (!exported.has(panel.title)) unknown.push(`panel title ${panel.title}`);
      for (const { expr } of panel.targets) {
        const used = expr.match(/\bhairpin_proxy_\w+/g) ?? [];
        // The panel charts its own metric (a histogram through its _bucket series).
        expect({ panel: panel.title, charts: used.some((name) => name.replace(/_(bucket|sum|count)$/, '') === panel.title) }).toEqual({ panel: panel.title, charts: true });
        for (const name of used) {
          const base = name.replace(/_(bucket|sum|count)$/, '');
          const histogramPart = base !== name && exported.get(base) === 'histogram';
          if (!exported.has(name) && !histogramPart) unknown.push(`${panel.title}: ${name}`);
        }
      }
    }
    expect(unknown).toEqual([]);
  });

  it("charts every one of hairpin-proxy's own metrics", async () => {
    const own = (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name).filter((name) => !name.startsWith('hairpin_proxy_process_'));
    expect(own.filter((name) => !dashboard.panels.some((p) => p.title === name))).toEqual([]);
  });
});
