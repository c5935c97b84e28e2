/* vm-config-vmx.c — placeholder, being written. */
