/* qmp-client.c — placeholder, being written. */
