/**
 * `sessctl/symfony`: Symfony's session bags (attributes, flashes, metadata, the security
 * token's user) over any backend's session data. Storage: PHP's native handlers (`sessctl/files`,
 * `sessctl/redis`) or PdoSessionHandler (`sessctl/symfony-pdo`).
 */
export { SymfonySessionView } from './bags.js';
