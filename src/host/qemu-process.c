/* qemu-process.c — placeholder, being written. */
