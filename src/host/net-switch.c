/* net-switch.c — placeholder, being written. */
