import { describe, expect, it } from '@jest/globals';
import { KubeError } from '../kube/errors.js';
import { Cancelled } from '../cancel.js';
import { captureLogger, FakeConfigMapStore } from '../testing/fakes.js';
import { renderCorefile } from './corefile.js';
import { CorednsSink } from './sink.js';

const corefile = '.:53 {\n    errors\n    forward . /etc/resolv.conf\n}\n';
const target = 'hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local';
const route = (host: string) => ({ host, target });
const addHosts = (...hosts: string[]) => (text: string) => renderCorefile(text, hosts.map(route));

/** `null` plays a cluster without the ConfigMap. */
function setup(data: Record<string, string> | null = { Corefile: corefile }) {
  const store = new FakeConfigMapStore(data ?? undefined);
  const { log, lines } = captureLogger();
  return { store, lines, sink: new CorednsSink(store, 'Corefile'), context: { log, dryRun: false } };
}

describe('CorednsSink', () => {
  it('writes the edited Corefile, and knows the ConfigMap it wrote for Events about it', async () => {
    const { store, sink, context } = setup();
    expect(sink.object).toEqual({ kind: 'ConfigMap', apiVersion: 'v1', namespace: 'kube-system', name: 'coredns' });
    const outcome = await sink.apply(addHosts('a.example.com'), context);
    expect(outcome.action).toBe('updated');
    expect(store.data?.Corefile).toBe(renderCorefile(corefile, [route('a.example.com')]));
    expect(sink.object).toMatchObject({ kind: 'ConfigMap', namespace: 'kube-system', name: 'coredns', uid: 'uid-coredns' });
  });

  it("recognises its own writes by resourceVersion (their watch events are echoes), not somebody else's edit", async () => {
    const { store, sink, context } = setup();
    await sink.apply(addHosts('a.example.com'), context);
    const ours = (await store.read()).resourceVersion;
    store.edit('Corefile', `${corefile}# a person's edit\n`);
    const theirs = (await store.read()).resourceVersion;
    expect([sink.wrote(ours), sink.wrote(theirs), sink.wrote('')]).toEqual([true, false, false]);
  });

  describe('with an informer cache of the ConfigMap', () => {
    it('reads the cached ConfigMap instead of the API server', async () => {
      const store = new FakeConfigMapStore({ Corefile: corefile });
      const cache = await store.read();
      const reads = store.reads;
      const sink = new CorednsSink(store, 'Corefile', () => cache);
      const { log } = captureLogger();
      expect((await sink.apply(addHosts('a.example.com'), { log, dryRun: false })).attempts).toBe(1);
      expect([store.reads - reads, store.writes]).toEqual([0, 1]);
    });

    it('keeps what it wrote over a cache that has not seen that write yet: no wasted conflict', async () => {
      const store = new FakeConfigMapStore({ Corefile: corefile });
      let cache = await store.read();
      const sink = new CorednsSink(store, 'Corefile', () => cache);
      const { log } = captureLogger();
      await sink.apply(addHosts('a.example.com'), { log, dryRun: false });
      cache = await store.read(); // the echo of our first write arrives
      await sink.apply(addHosts('b.example.com'), { log, dryRun: false });
      // The echo of the second has not arrived: the cache shows our first write, older than our last.
      const third = await sink.apply(addHosts('c.example.com'), { log, dryRun: false });
      expect(third).toMatchObject({ action: 'updated', attempts: 1 });
      expect(store.data?.Corefile).toBe(renderCorefile(corefile, [route('c.example.com')]));
    });

    it("writes over a person's edit only after reading it: a stale cache costs a conflict, never their edit", async () => {
      const store = new FakeConfigMapStore({ Corefile: corefile });
      const stale = await store.read();
      store.edit('Corefile', `${corefile}# kept\n`);
      const sink = new CorednsSink(store, 'Corefile', () => stale);
      const { log } = captureLogger();
      expect((await sink.apply(addHosts('a.example.com'), { log, dryRun: false })).attempts).toBe(2);
      expect(store.data?.Corefile).toContain('# kept');
    });
  });

  it('does not write when nothing changes', async () => {
    const { store, sink, context } = setup();
    await sink.apply(addHosts('a.example.com'), context);
    const outcome = await sink.apply(addHosts('a.example.com'), context);
    expect(outcome.action).toBe('unchanged');
    expect(store.writes).toBe(1);
  });

  it('keeps other keys of the ConfigMap', async () => {
    const { store, sink, context } = setup({ Corefile: corefile, NodeHosts: '10.0.0.1 node-1\n' });
    await sink.apply(addHosts('a.example.com'), context);
    expect(store.data?.NodeHosts).toBe('10.0.0.1 node-1\n');
  });

  it('re-reads on a conflict so that a concurrent edit survives alongside ours', async () => {
    const { store, sink, context } = setup();
    store.beforeNextWrite = (s) => s.edit('Corefile', corefile.replace('errors', 'errors\n    log'));
    const outcome = await sink.apply(addHosts('a.example.com'), context);
    expect(outcome).toMatchObject({ action: 'updated', attempts: 2 });
    expect(store.data?.Corefile).toContain('    log\n');
    expect(store.data?.Corefile).toContain('a.example.com');
  });

  it('gives up with a Conflict error when every attempt conflicts', async () => {
    const { store, sink, context } = setup();
    const alwaysInterfere = (s: FakeConfigMapStore) => {
      s.edit('Corefile', `${s.data?.Corefile ?? ''}# touched\n`);
      s.beforeNextWrite = alwaysInterfere;
    };
    store.beforeNextWrite = alwaysInterfere;
    await expect(sink.apply(addHosts('a.example.com'), context)).rejects.toMatchObject({ kind: 'Conflict' });
  });

  it('never overwrites a malformed Corefile, and says where it is broken', async () => {
    const broken = '.:53 {\n    errors\n';
    const { store, sink, context } = setup({ Corefile: broken });
    await expect(sink.apply(addHosts('a.example.com'), context)).rejects.toThrow(/Corefile/);
    expect(store.data?.Corefile).toBe(broken);
    expect(store.writes).toBe(0);
  });

  it('writes nothing once its signal aborts, even between its read and its write', async () => {
    const { store, sink, context } = setup();
    const abort = new AbortController();
    store.beforeNextWrite = () => abort.abort(new Cancelled('the leader lease was lost'));
    await expect(sink.apply(addHosts('a.example.com'), { ...context, signal: abort.signal })).rejects.toBeInstanceOf(Cancelled);
    expect(store.data?.Corefile).toBe(corefile);
    expect(store.writes).toBe(0);
  });

  it('writes nothing in a dry run but logs the diff', async () => {
    const { store, sink, context, lines } = setup();
    const outcome = await sink.apply(addHosts('a.example.com'), { ...context, dryRun: true });
    expect(outcome.action).toBe('dry-run');
    expect(outcome.diff).toContain('+ ');
    expect(store.writes).toBe(0);
    expect(lines().some((line) => String(line.msg).includes('dry run'))).toBe(true);
  });

  it('explains a missing ConfigMap', async () => {
    const { sink, context } = setup(null);
    await expect(sink.apply(addHosts('a.example.com'), context)).rejects.toThrow(/kube-dns/);
  });

  it('explains a missing key', async () => {
    const { sink, context } = setup({ other: '' });
    await expect(sink.apply(addHosts('a.example.com'), context)).rejects.toThrow(/no key "Corefile"/);
  });

  it('passes API errors through typed', async () => {
    const { store, sink, context } = setup();
    store.failNextReads = 1;
    await expect(sink.apply(addHosts('a.example.com'), context)).rejects.toBeInstanceOf(KubeError);
  });
});
