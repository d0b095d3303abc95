/**
 * `npm run token -- --role passenger --sub p1 [--ttl 12h]`: prints a bearer token signed with
 * `JWT_SECRET` (or the development default), with `iss` / `aud` when `JWT_ISSUER` / `JWT_AUDIENCE`
 * are set, for curl, Sandbox or GraphiQL.
 */
import { isValidId } from '@happyride/domain';
import { readAuthConfig, signToken, type Role } from '@happyride/platform';
import { parseArgs } from 'node:util';

const roles: readonly Role[] = ['passenger', 'driver', 'admin'];
const { values } = parseArgs({
  options: { role: { type: 'string', default: 'passenger' }, sub: { type: 'string' }, ttl: { type: 'string', default: '12h' } },
});
const role = values.role as Role;
if (!roles.includes(role)) {
  console.error(`--role must be one of ${roles.join(', ')}`);
  process.exit(2);
}
if (!values.sub || !isValidId(values.sub)) {
  console.error('--sub is required: the passenger, driver or admin id (letters, digits, _ or -, at most 64)');
  process.exit(2);
}
const auth = readAuthConfig(process.env);
console.log(await signToken({ id: values.sub, role }, auth.jwtSecret, { expiresIn: values.ttl, issuer: auth.issuer, audience: auth.audience }));
