import { Logger } from '@aws-lambda-powertools/logger';

/** One JSON logger per process; `npm start` swaps in a readable formatter via LOG_FORMAT=pretty. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'nightshift' });
