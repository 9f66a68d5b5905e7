/**
 * The host sets and question lists of `npm run bench -- dns`, generated (deterministic, no data
 * files). Two shapes of 20,000 hosts: many hosts per parent domain (200 parents), and every host
 * under its own parent, the shape that made the per-parent grouping render 2.4 MB.
 */
import { writeFileSync } from 'node:fs';

export type Shape = 'shared-parents' | 'distinct-parents';

/** Host i of a shape; indexes past the routed count give unrouted near-misses of the same shape. */
export function hostName(shape: Shape, i: number): string {
  return shape === 'shared-parents' ? `app-${i}.team-${i % 200}.example.com` : `svc-${i}.team-${i}.example${i % 97}.com`;
}

export function routedHosts(shape: Shape, count: number): string[] {
  return Array.from({ length: count }, (_, i) => hostName(shape, i));
}

/** The original project's rule for a host, as it wrote them (one line per host, its own target). */
export function seedFormatRule(host: string): string {
  return `rewrite name ${host} hairpin-proxy.hairpin-proxy.svc.cluster.local # Added by hairpin-proxy`;
}

/** A small deterministic PRNG (mulberry32): the same seed gives the same question list every run. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The half-routed mix: half the questions a routed host, the other half names no rule routes:
 * half of those unrouted hosts of the same shape (near-misses a matcher must walk into before it
 * rejects them), half in-cluster Service names, the bulk of a real cluster's questions.
 */
export function mixedQuestions(shape: Shape, hosts: number, count: number, seed = 1): string[] {
  const next = random(seed);
  const pick = (n: number) => Math.floor(next() * n);
  return Array.from({ length: count }, (_, i) => {
    if (i % 2 === 0) return hostName(shape, pick(hosts));
    return i % 4 === 1 ? hostName(shape, hosts + pick(hosts)) : serviceName(pick(5_000));
  });
}

export function writeQuestions(file: string, names: readonly string[]): string {
  writeFileSync(file, names.map((name) => `${name} A\n`).join(''));
  return file;
}

function serviceName(i: number): string {
  return `backend-${i}.ns-${i % 50}.svc.cluster.local`;
}

/**
 * A question list for the `cache 30` run, read once from start to end: each question repeats a
 * name from a hot set (asked again within the cache's 30 s) with probability `repeated`, and is a
 * name not asked before otherwise; half of either kind routed.
 */
export function cachedQuestions(shape: Shape, hosts: number, count: number, repeated: number, seed = 2): string[] {
  const next = random(seed);
  const hot = mixedQuestions(shape, hosts, 1_000, seed + 1);
  let routed = 0;
  let other = 0;
  return Array.from({ length: count }, (_, i) => {
    if (next() < repeated) return hot[Math.floor(next() * hot.length)] ?? '';
    if (i % 2 === 0 && routed < hosts) return hostName(shape, (routed++ * 7_919) % hosts);
    return serviceName(1_000_000 + other++);
  });
}
