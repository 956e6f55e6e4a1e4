/**
 * The key a client address is limited under: an IPv4 address as is (an IPv4-mapped IPv6
 * address as its IPv4 form), an IPv6 address by its /64. One subscriber usually holds a whole /64
 * (RFC 6177), so keying single IPv6 addresses would hand one client 2^64 budgets.
 */
export function addressKey(address: string): string {
  if (address.indexOf(':') === -1) return address;
  if (address.startsWith('::ffff:') && address.indexOf('.') !== -1) return address.slice(7);
  const prefix = ipv6Prefix64(address);
  return prefix === undefined ? address : prefix;
}

const HEX = /^[0-9a-fA-F]{1,4}$/;

/** `2001:db8:1:2::/64` for any address in that /64, or undefined when `address` is not IPv6. */
function ipv6Prefix64(address: string): string | undefined {
  let text = address;
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const gap = text.indexOf('::');
  if (gap !== -1 && text.indexOf('::', gap + 1) !== -1) return undefined;
  const head = gap === -1 ? text.split(':') : text.slice(0, gap) === '' ? [] : text.slice(0, gap).split(':');
  const tail = gap === -1 ? [] : text.slice(gap + 2) === '' ? [] : text.slice(gap + 2).split(':');
  // An embedded IPv4 tail (`::1.2.3.4`) fills the last two groups: never part of the /64.
  const groups = head.length + tail.length + (tail.at(-1)?.includes('.') === true ? 1 : 0);
  if (groups > 8 || (gap === -1 && groups !== 8)) return undefined;
  const hextets: string[] = [];
  for (const part of head) {
    if (!HEX.test(part)) return undefined;
    hextets.push(part);
  }
  const zeros = 8 - groups;
  for (let i = 0; i < zeros && hextets.length < 4; i++) hextets.push('0');
  for (const part of tail) {
    if (hextets.length >= 4) break;
    if (!HEX.test(part)) return undefined;
    hextets.push(part);
  }
  let key = '';
  for (let i = 0; i < 4; i++) key += `${Number.parseInt(hextets[i] ?? '0', 16).toString(16)}:`;
  return `${key}:/64`;
}
