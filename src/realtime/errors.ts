/**
 * The realtime layer's error catalogue: stable codes, and messages that say how to fix it.
 */
export class RealtimeError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RealtimeError';
    this.code = code;
  }

  static badTopic(topic: unknown): RealtimeError {
    return new RealtimeError(
      'STRATA_ERR_WS_TOPIC',
      `A topic must be a non-empty string of at most 256 characters, got ${typeof topic === 'string' ? JSON.stringify(topic.slice(0, 40)) : typeof topic}`,
    );
  }

  static badMessage(value: unknown): RealtimeError {
    return new RealtimeError(
      'STRATA_ERR_WS_MESSAGE',
      `A WebSocket message must be a string, an ArrayBuffer or a typed array / Buffer, got ${value === null ? 'null' : typeof value}`,
    );
  }

  static brokerClosed(kind: string): RealtimeError {
    return new RealtimeError(
      'STRATA_ERR_BROKER_CLOSED',
      `The ${kind} broker is closed: create a new one (a broker cannot be reused after close())`,
    );
  }

  static redisUnavailable(url: string, cause: unknown): RealtimeError {
    return new RealtimeError(
      'STRATA_ERR_REDIS_CONNECT',
      `Cannot connect to Redis at ${url}: check that redis-server runs there and that the URL (--redis) is right`,
      { cause },
    );
  }
}
