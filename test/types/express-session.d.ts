// The session keys the tests' express-session apps use, declared the way express-session
// asks apps to (module augmentation of SessionData), so `req.session.n` type-checks.
import 'express-session';

declare module 'express-session' {
  interface SessionData {
    n?: number;
    user?: any;
    visits?: number;
    cart?: Record<string, number>;
    late?: string;
    m?: number;
  }
}
