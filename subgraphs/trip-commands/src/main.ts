import { runCommandSubgraph } from '@happyride/platform';
import { definition } from './server.ts';

runCommandSubgraph(definition);
