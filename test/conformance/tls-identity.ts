/**
 * Host name verification as the upstream (Go) test client does it (crypto/x509 matchHostnames):
 * a `*` matches exactly one whole leftmost label, so `*.org` covers `example.org`. Node's own
 * check refuses wildcards over fewer than three labels, which the suite's certificate relies on.
 */
import type { PeerCertificate } from 'node:tls';

export function goCheckServerIdentity(host: string, cert: PeerCertificate): Error | undefined {
  const names = (cert.subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  if (names.some((n) => matchHostname(n, host))) return undefined;
  return new Error(`certificate is valid for ${names.join(', ') || 'no DNS names'}, not ${host}`);
}

export function matchHostname(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '').split('.');
  const h = host.toLowerCase().replace(/\.$/, '').split('.');
  if (p.length !== h.length || p.some((x) => x === '')) return false;
  return p.every((label, i) => label === h[i] || (i === 0 && label === '*'));
}
