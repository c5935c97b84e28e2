/* json-util.c — placeholder, being written. */
