/* vm-config.c — placeholder, being written. */
