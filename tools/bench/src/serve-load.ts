// The load generator of `pnpm bench --suite serve`, in a process of its own (the bench runs it at
// the lowest CPU priority, so that its own work, which a deployment does not pay, is done in the
// server's idle moments rather than charged to the server):
//   node serve-load.js <url> <model> <connections> <seconds>   prints autocannon's summary as JSON
// One request: a 224x224 image tensor as binary data (the binary-data extension).
import { randomNormal } from '@cardinal/core';
import autocannon from 'autocannon';

const [url, model, connections, seconds] = process.argv.slice(2);
const size = 224;
const x = randomNormal([1, 3, size, size], 2);
const head = Buffer.from(
  JSON.stringify({
    inputs: [
      {
        name: 'input',
        shape: [1, 3, size, size],
        datatype: 'FP32',
        parameters: { binary_data_size: x.data.byteLength },
      },
    ],
  }),
);
const r = await autocannon({
  url: `${url}/v2/models/${model}/infer`,
  method: 'POST',
  headers: {
    'content-type': 'application/octet-stream',
    'inference-header-content-length': String(head.length),
  },
  body: Buffer.concat([head, Buffer.from(x.data.buffer)]),
  connections: Number(connections),
  duration: Number(seconds),
});
console.log(
  JSON.stringify({
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  }),
);
