import { startKafka } from "./test/env/kafka.ts";
const t = performance.now();
const k = await startKafka({ logDir: "/tmp/kscratch" });
console.log(k.brokers, k.saslBrokers, k.version, ((performance.now() - t) / 1000).toFixed(1), "s");
await k.stop();
console.log("stopped", ((performance.now() - t) / 1000).toFixed(1));
