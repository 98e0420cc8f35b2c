/**
 * What a firewall keeps in the session: Symfony's ContextListener stores `serialize($token)`, a
 * string attribute `_security_<firewall>`. Read here as data only: no ClassRegistry is given to
 * the decoder, so no class is ever instantiated, and a hostile string can at most fail to decode.
 *
 * AbstractToken::__serialize() (security-core 5.4) is [$user, $authenticated, null, $attributes,
 * $roleNames]; each subclass puts its own fields first and the parent's array last
 * (UsernamePasswordToken, PreAuthenticatedToken, RememberMeToken: [x, firewall, parent];
 * SwitchUserToken: [originalToken, uri, parent] — the parent's user is the impersonated one).
 * Tokens serialized before PHP 7.4 used Serializable (`C:`): the payload is that same array,
 * with the parent part possibly itself a serialized string; both are read.
 */
import { DecodeError } from '../../errors.js';
import { PhpArray, PhpObject, PhpSerializable, unserialize, type PhpValue } from '../../codec/index.js';

export interface SecurityTokenInfo {
  /** The token's class, e.g. `Symfony\Component\Security\Core\Authentication\Token\UsernamePasswordToken`. */
  tokenClass: string;
  /** What getUserIdentifier() returns, when the user is a string or has a username / email / identifier property. */
  userIdentifier: string | undefined;
  /** The user object's class (undefined when the user is a plain string or missing). */
  userClass: string | undefined;
  /** The token's role names (its own, as stored; not the hierarchy's). */
  roles: string[];
}

/** Deep enough for any token (user entities included), shallow enough that a nesting bomb stops early. */
const MAX_DEPTH = 128;
const USER_ID_PROPS = ['username', 'userIdentifier', 'identifier', 'email'];

/**
 * Reads a serialized token.
 * @throws DecodeError naming `source` when the bytes are not a serialized object (truncated,
 *   garbage, too deep, or not an object at all).
 */
export function readSecurityToken(bytes: Uint8Array, source: string): SecurityTokenInfo {
  const token = unserialize(bytes, { source, maxDepth: MAX_DEPTH, keepSource: false }) as PhpValue;
  if (!(token instanceof PhpObject || token instanceof PhpSerializable)) {
    throw new DecodeError(`not a serialized security token (found ${describe(token)})`, 0, source);
  }
  const parent = tokenParts(token, source, 0);
  const user = parent?.[0];
  const roles = parent?.[4];
  return {
    tokenClass: token.className,
    userIdentifier: userIdentifierOf(user),
    userClass: user instanceof PhpObject || user instanceof PhpSerializable ? user.className : undefined,
    roles: roles instanceof PhpArray ? [...roles.values()].filter((r): r is string => typeof r === 'string') : [],
  };
}

function describe(v: PhpValue): string {
  if (v === null) return 'null';
  if (v instanceof PhpArray) return 'an array';
  if (typeof v === 'object') return (v as { constructor: { name: string } }).constructor.name;
  return `a ${typeof v}`;
}

/** AbstractToken's own five fields: the token's fields, or (for a subclass) its last one, followed down. */
function tokenParts(v: PhpValue | undefined, source: string, depth: number): PhpValue[] | undefined {
  if (depth > 4) return undefined;
  let fields: PhpArray | undefined;
  if (v instanceof PhpObject) fields = v.props;
  else if (v instanceof PhpArray) fields = v;
  else if (v instanceof PhpSerializable || typeof v === 'string' || v instanceof Uint8Array) {
    // A Serializable payload, or a parent part kept as a string by an old serialize().
    const bytes = v instanceof PhpSerializable ? v.data : typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    try {
      fields = unserialize(bytes, { source, maxDepth: MAX_DEPTH, keepSource: false }) as PhpArray;
    } catch {
      return undefined;
    }
    if (!(fields instanceof PhpArray)) return undefined;
  }
  if (!fields) return undefined;
  const values = [...fields.values()];
  // [$user, $authenticated, null, $attributes, $roleNames]
  if (values.length === 5 && typeof values[1] === 'boolean' && values[2] === null && values[3] instanceof PhpArray && values[4] instanceof PhpArray) return values;
  return values.length > 0 ? tokenParts(values[values.length - 1], source, depth + 1) : undefined;
}

function userIdentifierOf(user: PhpValue | undefined): string | undefined {
  if (typeof user === 'string') return user;
  if (!(user instanceof PhpObject)) return undefined;
  for (const name of USER_ID_PROPS) {
    const id = user.get(name);
    if (typeof id === 'string') return id;
    if (id instanceof Uint8Array) return Buffer.from(id).toString('latin1');
  }
  return undefined;
}
