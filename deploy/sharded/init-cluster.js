// Runs inside the mongos container at each start (see docker-compose.yml): safe to re-run.
// Users of a sharded cluster are made through a mongos; the first one under the localhost
// exception, the others once authenticated as it.
const admin = db.getSiblingDB("admin");
const env = process.env;
for (const name of ["MONGO_ROOT_USERNAME", "MONGO_ROOT_PASSWORD", "DOCSTORE_APP_USERNAME", "DOCSTORE_APP_PASSWORD"]) {
  if (!env[name]) {
    throw new Error(`${name} must be set in .env`);
  }
}
let authenticated = false;
try {
  authenticated = admin.auth(env.MONGO_ROOT_USERNAME, env.MONGO_ROOT_PASSWORD).ok === 1;
} catch (e) {
  authenticated = false;
}
if (!authenticated) {
  admin.createUser({ user: env.MONGO_ROOT_USERNAME, pwd: env.MONGO_ROOT_PASSWORD, roles: ["root"] });
  admin.auth(env.MONGO_ROOT_USERNAME, env.MONGO_ROOT_PASSWORD);
}
const shards = admin.runCommand({ listShards: 1 }).shards.map((shard) => shard._id);
for (const shard of ["shard1", "shard2"]) {
  if (!shards.includes(shard)) {
    sh.addShard(`${shard}/${shard}:27018`);
  }
}
// The application user reads and writes the docstore database, and nothing else.
const database = db.getSiblingDB(env.DOCSTORE_DATABASE || "docstore");
if (!database.getUser(env.DOCSTORE_APP_USERNAME)) {
  database.createUser({
    user: env.DOCSTORE_APP_USERNAME,
    pwd: env.DOCSTORE_APP_PASSWORD,
    roles: [{ role: "readWrite", db: database.getName() }],
  });
}
