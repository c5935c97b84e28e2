/* api-server.c — placeholder, being written. */
