import { envUrl } from '@happyride/platform';
import { defaultUrl, subgraphs } from '../../schema/subgraphs.ts';

/** Each subgraph's URL: `<PREFIX>_URL` from the environment, else its local default. */
export function subgraphUrls(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(subgraphs.map((entry) => [entry.name, envUrl(env, `${entry.envPrefix}_URL`, ['http', 'https'], defaultUrl(entry))]));
}
