/* store-sqlite-schema.c — the SQLite store's schema as an ordered list of
 * migrations. A migration is never edited once released: a change is a new
 * entry at the end, applied in its own transaction (store-sqlite.c).
 */
#include "store-sqlite-private.h"

#define NOW_US "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"

/* Version 1: inventory, relations, tasks, events, security; the root folder
 * and the built-in roles. */
static const char migration_1[] =
    "CREATE TABLE id_counter ("
    "  name TEXT PRIMARY KEY,"
    "  next INTEGER NOT NULL);"
    "INSERT INTO id_counter VALUES ('object', 2);"

    "CREATE TABLE objects ("
    "  id TEXT PRIMARY KEY,"
    "  seq INTEGER NOT NULL UNIQUE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('datacenter', 'folder', 'cluster', 'host',"
    "    'datastore', 'network', 'resource_pool', 'vm')),"
    "  name TEXT NOT NULL,"
    "  parent TEXT REFERENCES objects(id) ON DELETE CASCADE,"
    "  datacenter TEXT,"
    "  attrs TEXT NOT NULL DEFAULT '{}' CHECK (json_type(attrs) = 'object'),"
    "  system INTEGER NOT NULL DEFAULT 0,"
    "  created_us INTEGER NOT NULL,"
    "  modified_us INTEGER NOT NULL);"
    "CREATE INDEX objects_by_parent ON objects(parent, kind);"
    "CREATE INDEX objects_by_datacenter ON objects(datacenter, kind);"
    "CREATE INDEX objects_by_kind ON objects(kind, name);"
    /* vCenter's name rules: hosts, datastores and networks are unique in a
     * datacenter; everything else among its siblings of the same kind. */
    "CREATE UNIQUE INDEX objects_name_in_datacenter ON objects(datacenter, kind, name)"
    "  WHERE kind IN ('host', 'datastore', 'network');"
    "CREATE UNIQUE INDEX objects_name_in_parent ON objects(parent, kind, name)"
    "  WHERE kind NOT IN ('host', 'datastore', 'network');"
    "INSERT INTO objects VALUES ('group-d1', 1, 'folder', 'Datacenters', NULL, NULL,"
    "  '{\"folder_type\":\"DATACENTER\"}', 1, " NOW_US ", " NOW_US ");"

    "CREATE TABLE mounts ("
    "  host TEXT NOT NULL REFERENCES objects(id) ON DELETE CASCADE,"
    "  datastore TEXT NOT NULL REFERENCES objects(id) ON DELETE CASCADE,"
    "  path TEXT NOT NULL,"
    "  accessible INTEGER NOT NULL,"
    "  PRIMARY KEY (host, datastore));"
    "CREATE INDEX mounts_by_datastore ON mounts(datastore);"
    "CREATE TABLE host_networks ("
    "  host TEXT NOT NULL REFERENCES objects(id) ON DELETE CASCADE,"
    "  network TEXT NOT NULL REFERENCES objects(id) ON DELETE CASCADE,"
    "  PRIMARY KEY (host, network));"
    "CREATE INDEX host_networks_by_network ON host_networks(network);"

    "CREATE TABLE tasks ("
    "  num INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  operation TEXT NOT NULL,"
    "  target_type TEXT,"
    "  target_id TEXT,"
    "  user TEXT,"
    "  state TEXT NOT NULL CHECK (state IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED',"
    "    'CANCELED')),"
    "  progress INTEGER NOT NULL DEFAULT 0,"
    "  progress_message TEXT,"
    "  queued_us INTEGER NOT NULL,"
    "  start_us INTEGER NOT NULL DEFAULT 0,"
    "  end_us INTEGER NOT NULL DEFAULT 0,"
    "  result TEXT,"
    "  error TEXT);"
    "CREATE INDEX tasks_by_state ON tasks(state);"
    "CREATE INDEX tasks_by_target ON tasks(target_id);"

    "CREATE TABLE events ("
    "  key INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  time_us INTEGER NOT NULL,"
    "  user TEXT,"
    "  object TEXT,"
    "  object_name TEXT,"
    "  type TEXT NOT NULL,"
    "  message TEXT,"
    "  error INTEGER NOT NULL DEFAULT 0,"
    "  task TEXT);"
    "CREATE INDEX events_by_object ON events(object, key);"
    "CREATE INDEX events_by_user ON events(user, key);"
    "CREATE INDEX events_by_time ON events(time_us);"

    "CREATE TABLE users ("
    "  name TEXT PRIMARY KEY,"
    "  password_hash TEXT NOT NULL);"
    "CREATE TABLE user_groups ("
    "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
    "  grp TEXT NOT NULL,"
    "  PRIMARY KEY (user, grp));"
    "CREATE INDEX user_groups_by_group ON user_groups(grp);"
    "CREATE TABLE roles ("
    "  name TEXT PRIMARY KEY,"
    "  system INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE role_privileges ("
    "  role TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  privilege TEXT NOT NULL,"
    "  PRIMARY KEY (role, privilege));"
    "CREATE TABLE permissions ("
    "  object TEXT NOT NULL REFERENCES objects(id) ON DELETE CASCADE,"
    "  principal TEXT NOT NULL,"
    "  is_group INTEGER NOT NULL,"
    "  role TEXT NOT NULL REFERENCES roles(name) ON UPDATE CASCADE,"
    "  propagate INTEGER NOT NULL,"
    "  PRIMARY KEY (object, principal, is_group));"
    "CREATE INDEX permissions_by_principal ON permissions(principal);"
    "CREATE INDEX permissions_by_role ON permissions(role);"
    "INSERT INTO roles VALUES ('Administrator', 1), ('ReadOnly', 1), ('NoAccess', 1);"
    "INSERT INTO role_privileges VALUES ('Administrator', '*'),"
    "  ('ReadOnly', 'System.Anonymous'), ('ReadOnly', 'System.Read'),"
    "  ('ReadOnly', 'System.View');";

const char *const store_sqlite_migrations[] = {
    migration_1,
};

const guint store_sqlite_n_migrations = G_N_ELEMENTS(store_sqlite_migrations);
