/* qemu-argv.c — placeholder, being written. */
