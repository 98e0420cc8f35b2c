/**
 * `--where EXPR`: select sessions by what is inside them. `compileWhere` parses once and
 * returns a predicate over decoded sessions (the codec's plain view in JSON mode).
 */
import type { PhpArray } from '../../codec/values.js';
import type { AdminCodec } from '../codec-bridge.js';
import { evaluateWhere } from './evaluate.js';
import { parseWhere } from './parse.js';

export { parseWhere, parsePath, WhereSyntaxError } from './parse.js';
export { evaluateWhere } from './evaluate.js';
export type { WhereNode, Segment, CompareOp, Literal } from './ast.js';

/**
 * A predicate over decoded sessions. `view` may add derived values to the plain view (a framework
 * app's `auth`) without changing what real keys mean.
 * @throws WhereSyntaxError for an expression that does not parse.
 */
export function compileWhere(expression: string, codec: Pick<AdminCodec, 'toPlain'>, view?: (data: PhpArray, plain: unknown) => unknown): (data: PhpArray) => boolean {
  const tree = parseWhere(expression);
  return (data) => {
    const plain = codec.toPlain(data, { json: true });
    return evaluateWhere(tree, view ? view(data, plain) : plain);
  };
}
