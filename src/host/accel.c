/* accel.c — placeholder, being written. */
