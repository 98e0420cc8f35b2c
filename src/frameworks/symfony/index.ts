/**
 * `sessctl/symfony`: Symfony's session bags (attributes, flashes, metadata, the security
 * token's user) over any backend's session data. Storage: PHP's native handlers (`sessctl/files`,
 * `sessctl/redis`), PdoSessionHandler (`sessctl/symfony-pdo`) or RedisSessionHandler (`sessctl/symfony-redis`).
 */
export { SymfonySessionView } from './bags.js';
export { readSecurityToken, type SecurityTokenInfo } from './security-token.js';
