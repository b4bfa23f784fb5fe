// Local SQS for the stack and the tests: fauxqs (speaks SQS's JSON protocol, so AWSSDK.SQS works
// unchanged), bound to 127.0.0.1 only (its CLI binds every interface, so we start it through its
// library). Creates the payment-results queue and its dead-letter queue with a RedrivePolicy.
//
//   node sqs-server.mjs [--port 4566] [--queue payment-results] [--max-receive-count 5]
//                       [--visibility-timeout 30] [--no-queues] [--exit-with-stdin] [--data-dir DIR]
// --data-dir keeps queues and messages in SQLite under DIR (fauxqs' persistence), so a restart of this
// server loses nothing it acknowledged; without it everything is in memory.
// Prints one JSON line {"ready":true,"endpoint":...,"queueUrl":...,"dlqUrl":...} when listening.
import { buildApp } from "fauxqs";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const port = Number(opt("port", process.env.SQS_PORT ?? "4566"));
const queue = opt("queue", "payment-results");
const maxReceiveCount = opt("max-receive-count", "5");
const visibilityTimeout = opt("visibility-timeout", "30");
const region = "us-east-1";

const dataDir = opt("data-dir", undefined);
// fauxqs wires persistence only in startFauxqs, which binds every interface; so do what it does here, from
// its own modules (by path: the package exports only app.js; fauxqs is pinned to one version).
let stores;
if (dataDir) {
  const dist = new URL("./node_modules/fauxqs/dist/", import.meta.url);
  const [{ SqsStore }, { SnsStore }, { S3Store }, { PersistenceManager }] = await Promise.all(
    ["sqs/sqsStore.js", "sns/snsStore.js", "s3/s3Store.js", "persistence.js"].map((f) => import(new URL(f, dist))));
  const persistence = new PersistenceManager(dataDir);
  // fauxqs 2.4.1 marks a message visible again (ChangeMessageVisibility to 0) by writing NULL into the NOT NULL
  // receive count: the write throws after the message has left the in-flight set, so the message is lost (dlq list,
  // the event source releasing a batch while stopping). Clear only the in-flight columns, keeping the counts.
  const markReady = persistence.db.prepare("UPDATE sqs_messages SET receipt_handle = NULL, visibility_deadline = NULL WHERE message_id = ?");
  persistence.updateMessageReady = (messageId) => markReady.run(messageId);
  stores = { sqsStore: new SqsStore(), snsStore: new SnsStore(), s3Store: new S3Store() };
  persistence.load(stores.sqsStore, stores.snsStore, stores.s3Store);
  stores.sqsStore.persistence = persistence;
  stores.snsStore.persistence = persistence;
  for (const queue of stores.sqsStore.allQueues()) queue.persistence = persistence;
}
const app = buildApp({ logger: false, host: "127.0.0.1", defaultRegion: region, ...(stores ? { stores } : {}) });
const address = await app.listen({ host: "127.0.0.1", port });
const endpoint = address.replace("localhost", "127.0.0.1");

async function sqs(action, body) {
  const res = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": `AmazonSQS.${action}`,
      // fauxqs reads the region from the credential scope; the signature itself is not checked.
      authorization: `AWS4-HMAC-SHA256 Credential=local/20260101/${region}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${action} failed: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

let ready = { ready: true, endpoint };
if (!args.includes("--no-queues")) {
  const dlq = await sqs("CreateQueue", { QueueName: `${queue}-dlq`, Attributes: { MessageRetentionPeriod: "1209600" } });
  const dlqAttrs = await sqs("GetQueueAttributes", { QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] });
  const main = await sqs("CreateQueue", {
    QueueName: queue,
    Attributes: {
      VisibilityTimeout: visibilityTimeout,
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqAttrs.Attributes.QueueArn, maxReceiveCount }),
    },
  });
  ready = { ...ready, queueUrl: main.QueueUrl, dlqUrl: dlq.QueueUrl };
}
console.log(JSON.stringify(ready));

const stop = async () => { await app.close(); process.exit(0); };
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
// Started by a test with a stdin pipe: exit with the parent, even if it dies without cleaning up.
if (args.includes("--exit-with-stdin")) {
  process.stdin.on("end", stop);
  process.stdin.on("error", stop);
  process.stdin.resume();
}
