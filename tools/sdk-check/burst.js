// The naive script the benchmark sets beside otaroll (bench/run): N
// CreateOTAStaticUpgradeJob calls through Alibaba Cloud's official Node.js
// RPC client, CONCURRENCY at a time, as a script written against the SDK
// would make them: no pacing, no retry, no record of what it sent.
//
//   SDK_ACCESS_KEY_ID=… SDK_ACCESS_KEY_SECRET=… node burst.js ENDPOINT N CONCURRENCY FIRST_FIRMWARE_ID
//
// Call i creates a 10 % gray job of firmware FIRST_FIRMWARE_ID + i (product
// pk + the same number). Prints one JSON line: {"calls", "created",
// "throttled", "failed", "seconds"}; a throttled or failed call is a job the
// script lost (it never made it).
'use strict';
const { RPCClient } = require('@alicloud/pop-core');

async function main() {
  const [endpoint, n, concurrency, first] = process.argv.slice(2);
  const client = new RPCClient({
    accessKeyId: process.env.SDK_ACCESS_KEY_ID,
    accessKeySecret: process.env.SDK_ACCESS_KEY_SECRET,
    endpoint,
    apiVersion: '2018-01-20',
  });
  const total = Number(n);
  let next = 0;
  const counts = { calls: 0, created: 0, throttled: 0, failed: 0 };
  const start = process.hrtime.bigint();
  async function worker() {
    while (next < total) {
      const i = next++;
      const firmware = Number(first) + i;
      counts.calls++;
      try {
        const answer = await client.request(
          'CreateOTAStaticUpgradeJob',
          { ProductKey: `sdk${String(firmware).padStart(8, '0')}`, FirmwareId: String(firmware),
            TargetSelection: 'GRAY', GrayPercent: '10' },
          { method: 'POST', timeout: 10000 });
        // The SDK throws on an upper-case Code; a tuya-style answer
        // ({"code": …, "success": false}) comes back as an answer.
        const code = answer.Code || answer.code;
        if (code || answer.Success === false || answer.success === false) throw Object.assign(new Error(), { code });
        counts.created++;
      } catch (e) {
        if (String(e.code || '').startsWith('Throttling')) counts.throttled++; else counts.failed++;
      }
    }
  }
  await Promise.all(Array.from({ length: Number(concurrency) }, worker));
  counts.seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify(counts));
}

main();
