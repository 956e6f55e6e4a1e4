/**
 * The server's one mutable state, read by every part that acts on it: the edge policy (the
 * in-flight cap), the fast lane and the gateway (`Connection: close` while draining), the
 * connection guard's drain sweep and the shutdown sequence. One object instead of a flag kept in
 * step by hand in five places.
 */
export class ServerState {
  /**
   * True from the moment `close()` starts: responses say `Connection: close`, handshakes are
   * refused, idle connections are swept.
   */
  draining = false;
  /** Requests and upgrades between the edge policy's pass and their end (counted with maxInFlight only). */
  inFlight = 0;
  readonly maxInFlight: number;

  constructor(maxInFlight: number) {
    this.maxInFlight = maxInFlight;
  }

  /** Whether the in-flight cap is reached (never, without one). */
  get atCapacity(): boolean {
    return this.maxInFlight > 0 && this.inFlight >= this.maxInFlight;
  }

  /** Takes an in-flight slot (a no-op without a cap); `leave` gives it back. */
  enter(): void {
    if (this.maxInFlight > 0) this.inFlight += 1;
  }

  /** Gives an in-flight slot back (bound: a 'close' listener). */
  readonly leave = (): void => {
    if (this.maxInFlight > 0) this.inFlight -= 1;
  };
}
