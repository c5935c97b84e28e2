/* vm-hardware.c — placeholder, being written. */
