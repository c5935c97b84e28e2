/* inventory.c — placeholder, being written. */
