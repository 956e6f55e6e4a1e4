/** What the showcase's middleware put on every request's context (`c.get(...)`). */
import type { Session } from '../../src/index.ts';

/** A signed-in user, as the session keeps it and `requireRole()` reads it (`user.role`). */
export interface User {
  name: string;
  role: 'admin' | 'user';
}

/** The session's values: only who is signed in (and csrf()'s token, which it keeps itself). */
export interface Visit {
  user?: User;
}

export type Vars = {
  /** From `session()`: an encrypted cookie, no server-side store. */
  session: Session<Visit>;
  /** From `secureHeaders()`: this response's CSP nonce, for the page's inline script. */
  cspNonce: string;
  /** From `currentUser` (identity.ts): the session's user, or undefined when signed out. */
  user: User | undefined;
};
