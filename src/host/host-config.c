/* host-config.c — placeholder, being written. */
