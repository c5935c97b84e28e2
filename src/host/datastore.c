/* datastore.c — placeholder, being written. */
