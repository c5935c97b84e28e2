/* api-client.c — placeholder, being written. */
