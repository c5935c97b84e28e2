/* vmx.c — placeholder, being written. */
