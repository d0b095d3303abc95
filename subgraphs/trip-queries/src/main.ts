import { runQuerySubgraph } from '@happyride/platform';
import { definition } from './server.ts';

runQuerySubgraph(definition, 'TRIP_QUERIES_PORT', 4005);
