/**
 * A CPU-bound task for the showcase's thread pool: counts the primes below `limit` by trial
 * division — deliberately slow, so it shows what offloading buys.
 */
export default function countPrimes(limit: number): { limit: number; primes: number } {
  let primes = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) primes++;
  }
  return { limit, primes };
}
