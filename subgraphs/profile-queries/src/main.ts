import { runQuerySubgraph } from '@happyride/platform';
import { definition } from './server.ts';

runQuerySubgraph(definition, 'PROFILE_QUERIES_PORT', 4002);
