/* vm-power.c — placeholder, being written. */
