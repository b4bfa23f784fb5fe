// Local identity provider for the stack and the tests: cognito-local (speaks Cognito's JSON API and
// serves the pool's JWKS), bound to 127.0.0.1, with its data in a folder of our choosing. Creates,
// idempotently, the user pool (sign-in by email), the web page's app client (no secret) and the
// `operators` group. Dev and tests only: cognito-local signs tokens with a key published in its npm
// package, so anyone can mint tokens for it (PaymentsApi refuses such an issuer in production).
//
//   node cognito-server.mjs [--port 5095] [--data .local/cognito] [--write .local/run/cognito.json]
//                           [--exit-with-stdin]
// Prints one JSON line {"ready":true,"endpoint","region","userPoolId","clientId","issuer"} when
// listening (and writes the same object, without "ready", to --write).
import { mkdirSync, readFileSync, writeFileSync, renameSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const port = Number(opt("port", process.env.COGNITO_PORT ?? "5095"));
const dataDir = resolve(opt("data", ".local/cognito"));
const writeTo = opt("write", null);
const host = "127.0.0.1";
const endpoint = `http://${host}:${port}`;
const poolName = "ecpay-events-local";
const clientName = "web";

// cognito-local reads its configuration from ./.cognito/config.json and keeps its data in
// ./.cognito/db, relative to the working directory: give it ours. The issuer names 127.0.0.1 and
// this port (its default says localhost:9229, which is not where it listens).
const cognitoDir = `${dataDir}/.cognito`;
mkdirSync(cognitoDir, { recursive: true });
const configPath = `${cognitoDir}/config.json`;
const config = existsSync(configPath) ? JSON.parse(readFileSync(configPath, "utf8")) : {};
config.ServerConfig = { ...(config.ServerConfig ?? {}), hostname: host, port, development: false, https: false };
config.TokenConfig = { ...(config.TokenConfig ?? {}), IssuerDomain: endpoint };
config.UserPoolDefaults = { UsernameAttributes: ["email"] };
writeFileSync(configPath, JSON.stringify(config, null, 2));
const writePath = writeTo ? resolve(writeTo) : null;
process.chdir(dataDir);

const require = createRequire(import.meta.resolve("cognito-local/package.json"));
const pino = require("pino");
const { createDefaultServer } = require("cognito-local/lib/server/defaults.js");
// Warnings and errors only (on stderr): stdout carries the one "ready" line.
const logger = pino({ level: process.env.DEBUG ? "debug" : "warn" }, pino.destination(2));
const server = await createDefaultServer(logger);
await server.start();

async function cognito(action, body) {
  const res = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `AWSCognitoIdentityProviderService.${action}` },
    body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const error = new Error(`${action} failed: ${res.status} ${JSON.stringify(json)}`);
    error.type = json.__type;
    throw error;
  }
  return json;
}

const pools = await cognito("ListUserPools", { MaxResults: 60 });
let pool = (pools.UserPools ?? []).find((p) => p.Name === poolName);
if (!pool) {
  pool = (await cognito("CreateUserPool", {
    PoolName: poolName,
    UsernameAttributes: ["email"],
    AutoVerifiedAttributes: ["email"],
    Policies: { PasswordPolicy: { MinimumLength: 12, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: false } },
  })).UserPool;
}
const userPoolId = pool.Id;

const clients = await cognito("ListUserPoolClients", { UserPoolId: userPoolId, MaxResults: 60 });
let client = (clients.UserPoolClients ?? []).find((c) => c.ClientName === clientName);
if (!client) {
  client = (await cognito("CreateUserPoolClient", {
    UserPoolId: userPoolId,
    ClientName: clientName,
    GenerateSecret: false,
    ExplicitAuthFlows: ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    AccessTokenValidity: 60,
    IdTokenValidity: 60,
    RefreshTokenValidity: 30,
    TokenValidityUnits: { AccessToken: "minutes", IdToken: "minutes", RefreshToken: "days" },
  })).UserPoolClient;
}

// (ListGroups, not GetGroup: cognito-local's GetGroup fails on a pool without groups.)
const groups = await cognito("ListGroups", { UserPoolId: userPoolId });
if (!(groups.Groups ?? []).some((g) => g.GroupName === "operators")) {
  await cognito("CreateGroup", { UserPoolId: userPoolId, GroupName: "operators", Description: "Read any user and transaction; move no money" });
}

const info = {
  endpoint,
  region: userPoolId.split("_")[0],
  userPoolId,
  clientId: client.ClientId,
  issuer: `${endpoint}/${userPoolId}`,
};
if (writePath) {
  mkdirSync(dirname(writePath), { recursive: true });
  writeFileSync(`${writePath}.tmp`, JSON.stringify(info, null, 2) + "\n");
  renameSync(`${writePath}.tmp`, writePath);
}
console.log(JSON.stringify({ ready: true, ...info }));

const stop = () => process.exit(0);
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
// Started by a test with a stdin pipe: exit with the parent, even if it dies without cleaning up.
if (args.includes("--exit-with-stdin")) {
  process.stdin.on("end", stop);
  process.stdin.on("error", stop);
  process.stdin.resume();
}
