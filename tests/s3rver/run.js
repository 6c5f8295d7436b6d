// Starts s3rver on 127.0.0.1:<port> with <dir> as storage and bucket <bucket>; prints "ready" when listening.
const S3rver = require('s3rver');
const [port, dir, bucket] = process.argv.slice(2);
new S3rver({ address: '127.0.0.1', port: Number(port), directory: dir, silent: true, configureBuckets: [{ name: bucket }] })
  .run()
  .then(() => console.log('ready'))
  .catch((e) => { console.error(e.message); process.exit(1); });
