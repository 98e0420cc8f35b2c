/**
 * sessctl codec: PHP's serialize() format and the three session serialize handlers.
 * Entry point of src/codec — see decoder.ts, encoder.ts, session.ts, plain.ts.
 */
export * from './values.js';
