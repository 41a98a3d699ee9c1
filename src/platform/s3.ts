import { S3Client } from '@aws-sdk/client-s3';
import { onAwsClientsReset } from './aws.js';

/*
 * S3 for the artifact store, in a module of its own: only the functions that read or write
 * artifacts bundle the S3 client (about 110 KB minified).
 */
let s3Client: S3Client | undefined;
onAwsClientsReset(() => {
  s3Client = undefined;
});

/**
 * Path-style addressing when S3_FORCE_PATH_STYLE=true (s3rver on 127.0.0.1 has no virtual-host
 * names); checksums only where S3 requires them, which every S3-compatible server understands.
 */
export function s3(): S3Client {
  s3Client ??= new S3Client({
    forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return s3Client;
}
