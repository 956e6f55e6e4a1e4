/** Authentication middleware: JWT, opaque bearer tokens, HTTP Basic, API keys. */
export { type ApiKeyOptions, apiKey } from './api-key.ts';
export { type BasicAuthOptions, type BasicUser, basicAuth, decodeBasic } from './basic-auth.ts';
export { type BearerOptions, bearer } from './bearer.ts';
export { type JWTPayload, type JwksOptions, type JwtOptions, type JwtVariables, jwt } from './jwt.ts';
export { accessRule, isAccessRule, parseAuthorization, publicRoute, timingSafeEqual } from './shared.ts';
