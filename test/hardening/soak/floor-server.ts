import { createServer } from "node:http";

/**
 * The soak's floor: a bare node:http server that answers every request with a fixed JSON body of the
 * given length, as fast as Node can. Two of them, driven by the soak's own load generator at the
 * soak's rate, show what latency the machine and the generator alone add. Prints its port.
 */
const bodyLength = Number(process.argv[2] ?? 400);
const body = JSON.stringify({ floor: "x".repeat(Math.max(0, bodyLength - 12)) });
const server = createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    response.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    });
    response.end(body);
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  console.log(typeof address === "object" && address ? address.port : "");
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
