// Runs ECPay's official Node SDK (ecpay_aio_nodejs) over every case in one process.
// usage: node gen-chk-mac.cjs <path to lib/ecpay_payment/helper.js> <cases.json> <results.json>
'use strict';
const fs = require('fs');
const [helperPath, casesPath, resultsPath] = process.argv.slice(2);
const APIHelper = require(helperPath);
// gen_chk_mac_value console.logs its raw string; keep stdout clean.
console.log = () => {};
const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
const results = cases.map(c => {
  const helper = new APIHelper({
    OperationMode: 'Test',
    IsProjectContractor: false,
    IgnorePayment: [],
    MercProfile: { MerchantID: '3002607', HashKey: c.hashKey, HashIV: c.hashIV },
  });
  // Build the object in the given order (JSON.parse keeps it; keys never look like array indices).
  const params = {};
  for (const [k, v] of c.fields) params[k] = v;
  // The SDK's own key order, computed the same way gen_chk_mac_value sorts (for classifying cases).
  const sdkOrder = Object.keys(params).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
  return { mac: helper.gen_chk_mac_value(params, c.md5 ? 0 : 1), sdkOrder };
});
fs.writeFileSync(resultsPath, JSON.stringify(results));
