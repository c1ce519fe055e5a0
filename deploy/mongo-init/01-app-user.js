// Runs once, on the first start with an empty data volume (official image behaviour).
// The application user may read and write the docstore database, and nothing else.
const database = process.env.MONGO_INITDB_DATABASE || "docstore";
const user = process.env.DOCSTORE_APP_USERNAME;
const password = process.env.DOCSTORE_APP_PASSWORD;
if (!user || !password) {
  throw new Error("DOCSTORE_APP_USERNAME and DOCSTORE_APP_PASSWORD must be set in .env");
}
db.getSiblingDB(database).createUser({
  user: user,
  pwd: password,
  roles: [{ role: "readWrite", db: database }],
});
