import { serve } from '../../src/server.ts';
import { app, options } from './app.ts';

const server = await serve(app, options);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
