/* vm-manager.c — placeholder, being written. */
