// Calls the OTA API with Alibaba Cloud's official Node.js RPC client, which
// builds and signs the request itself (not otaroll's code): the test suite
// uses it to check that `otaroll sandbox` serves a standard SDK.
//
//   SDK_ACCESS_KEY_ID=… SDK_ACCESS_KEY_SECRET=… node call.js ENDPOINT ACTION PARAMS_JSON [GET|POST]
//
// Prints the parsed answer as one JSON line and exits 0, or prints
// {"error": CODE, "message": …} and exits 1.
'use strict';
const { RPCClient } = require('@alicloud/pop-core');

async function main() {
  const [endpoint, action, paramsJson, method = 'POST'] = process.argv.slice(2);
  const client = new RPCClient({
    accessKeyId: process.env.SDK_ACCESS_KEY_ID,
    accessKeySecret: process.env.SDK_ACCESS_KEY_SECRET,
    endpoint,
    apiVersion: '2018-01-20',
  });
  try {
    const answer = await client.request(action, JSON.parse(paramsJson || '{}'), { method, timeout: 10000 });
    console.log(JSON.stringify(answer));
    process.exit(0);
  } catch (e) {
    console.log(JSON.stringify({ error: e.code || e.name, message: String(e.message).split(', URL:')[0] }));
    process.exit(1);
  }
}

main();
