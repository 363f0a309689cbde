// Names, as k8s.io/apimachinery/pkg/util/validation checks them: DNS-1123 labels and subdomains,
// DNS-1035 labels, label keys and values, IANA service (port) names; and the hints that explain
// each rule.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
export const LABEL_HINT = "at most 63 characters: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. my-name)";
export const DNS1035_HINT = "at most 63 characters: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit (e.g. my-name)";
export const SUBDOMAIN_HINT =
  "at most 253 characters: lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit (e.g. my-name.example)";
export const IANA_HINT =
  "a port name is at most 15 characters: lowercase letters, digits and '-', with at least one letter, no '--' and no '-' at either end (e.g. http)";
export const PORT_HINT = 'ports are numbers from 1 to 65535';

export const isDns1123Label = (s: string): boolean => s.length <= 63 && DNS1123_LABEL.test(s);
export const isDns1035Label = (s: string): boolean => s.length <= 63 && DNS1035_LABEL.test(s);
export const isDns1123Subdomain = (s: string): boolean => s.length <= 253 && s.split('.').every((part) => DNS1123_LABEL.test(part));
/** IsValidPortName: the IANA_SVC_NAME syntax. */
export const isIanaSvcName = (s: string): boolean =>
  s.length <= 15 && /^[-a-z0-9]+$/.test(s) && /[a-z]/.test(s) && !s.includes('--') && !s.startsWith('-') && !s.endsWith('-');

export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'has more than one "/"';
  const name = parts[parts.length - 1]!;
  if (parts.length === 2 && !isDns1123Subdomain(parts[0]!)) return `has a prefix "${parts[0]}" that is not a DNS subdomain`;
  if (name.length > 63 || !QUALIFIED_NAME.test(name)) return 'is not a qualified name';
  return undefined;
}

export const isLabelValue = (v: string): boolean => v === '' || (v.length <= 63 && QUALIFIED_NAME.test(v));
