/* api-host.c — placeholder, being written. */
